"""How many rows each table a migration touches holds when it is measured, and in production.

Two settings in one form: a number (the largest table's rows, the others in
the proportion the seed data gives them) and `table=rows` pairs for tables
set one by one. `profile_rows` (default: the largest at 1,000,000) is what
the profile grows the tables to; `production_rows` (default: ten times each
table's measured rows) is what its figures are extrapolated to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phase3test.errors import SetupError

PROFILE_ROWS = 1_000_000
PRODUCTION_FACTOR = 10
_PAIR = re.compile(r"^(?:(?P<table>[^=\s]+)=)?(?P<rows>[0-9][0-9_]*)$")


@dataclass(frozen=True)
class RowCounts:
    """Rows wanted: `largest` for the largest table not set one by one (the rest in proportion), `tables` so."""

    largest: int | None = None
    tables: tuple[tuple[str, int], ...] = ()  # (schema.table, rows)

    def __str__(self) -> str:
        largest = [] if self.largest is None else [str(self.largest)]
        return " ".join(largest + [f"{table}={rows}" for table, rows in self.tables])

    def of(self, now: dict[str, int]) -> dict[str, int]:
        """Per table of `now` (its rows today), the rows wanted; None for `largest` keeps a table's rows."""
        alone = dict(self.tables)
        scaled = {table: rows for table, rows in now.items() if table not in alone}
        top = max(scaled.values(), default=0)
        factor = self.largest / top if self.largest is not None and top else 1.0
        wanted = {table: max(rows, round(rows * factor)) for table, rows in scaled.items()}
        return wanted | {table: rows for table, rows in alone.items() if table in now}


def parse_row_counts(text: str) -> RowCounts:
    """`1000000`, `public.orders=200000 events=3000000` or both; a bare table name is in public."""
    largest, tables = None, {}
    for word in text.replace(",", " ").split():
        found = _PAIR.match(word)
        if not found:
            raise SetupError(f"not a row count: {word!r}", hint="write 1000000, or public.orders=200000 (rows)")
        rows = int(found["rows"].replace("_", ""))
        if rows < 1:
            raise SetupError(f"not a row count: {word!r}", hint="row counts are positive")
        if found["table"] in (None, "*"):
            largest = rows
        else:
            tables[qualified(found["table"])] = rows
    return RowCounts(largest, tuple(tables.items()))


def qualified(table: str) -> str:
    """`orders` -> `public.orders`, as the profile names tables."""
    return table if "." in table else f"public.{table}"


def production(measured: dict[str, int], wanted: RowCounts) -> dict[str, int]:
    """Each measured table's production rows: as set, else PRODUCTION_FACTOR times what it was measured at."""
    if wanted.largest is None:
        alone = dict(wanted.tables)
        return {table: alone.get(table, rows * PRODUCTION_FACTOR) for table, rows in measured.items()}
    return wanted.of(measured)
