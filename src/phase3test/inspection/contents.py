"""Table contents as comparable multisets of rows: what a step kept, changed, added or lost.

A schema snapshot (`catalog`) says nothing about data; these do. Each row is
compared by its text form over a chosen list of columns, so a row counts as
kept only if every compared value is unchanged. Reads run as the connecting
superuser: row-level security hides nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import psycopg

from phase3test.inspection.catalog import ROWS_AS_SCHEMA, Snapshot

EXAMPLE_LENGTH = 160


@dataclass
class Contents:
    """Per table (`schema.table`), its rows as a multiset of their text form."""

    rows: dict[str, Counter[str]]

    def total(self) -> int:
        return sum(rows.total() for rows in self.rows.values())

    def only(self, tables: list[str]) -> Contents:
        return Contents({table: self.rows[table] for table in tables if table in self.rows})


def columns_of(schema: Snapshot) -> dict[str, list[str]]:
    """Every table of the snapshot with its columns (quoted names, sorted): what `read` compares.

    Tables whose rows the snapshot itself holds as schema objects (storage
    buckets) are left to it: a migration's bucket comes and goes with it.
    """
    tables = [table for table in schema.objects.get("table", {}) if table not in ROWS_AS_SCHEMA]
    columns: dict[str, list[str]] = {table: [] for table in tables}
    for key, props in schema.objects.get("column", {}).items():
        if props["on"] in columns:
            columns[props["on"]].append(key[len(props["on"]) + 1 :])
    return {table: sorted(names) for table, names in sorted(columns.items())}


def read(conn: psycopg.Connection, columns: dict[str, list[str]]) -> Contents:
    """The rows of each table, over the given columns only."""
    rows: dict[str, Counter[str]] = {}
    for table, names in columns.items():
        values = f"row({', '.join(names)})::text" if names else "'()'"
        rows[table] = Counter(text for (text,) in conn.execute(f"select {values} from {table}"))
    return Contents(rows)


def nulls(conn: psycopg.Connection, columns: dict[str, list[str]]) -> dict[str, tuple[int, dict[str, int]]]:
    """Per table, its row count and how many rows hold NULL in each of the given columns."""
    counted: dict[str, tuple[int, dict[str, int]]] = {}
    for table, names in columns.items():
        per_column = ", ".join(f"count(*) filter (where {name} is null)" for name in names)
        row = conn.execute(f"select count(*){', ' if names else ''}{per_column} from {table}").fetchone()
        assert row is not None  # an aggregate always returns a row
        counted[table] = (row[0], dict(zip(names, row[1:], strict=True)))
    return counted


def changes(before: Contents, after: Contents) -> list[str]:
    """One line per table whose rows differ, with an example of a row that went and one that came."""
    lines = []
    for table in sorted(before.rows.keys() | after.rows.keys()):
        old, new = before.rows.get(table, Counter()), after.rows.get(table, Counter())
        gone, came = old - new, new - old
        if gone or came:
            lines.append(
                f"{table}: {gone.total()} row(s) gone or changed, {came.total()} new or changed "
                f"({old.total()} -> {new.total()} rows){_example('was', gone)}{_example('now', came)}"
            )
    return lines


def lost(before: Contents, after: Contents) -> list[str]:
    """One line per table that no longer has every row it had (rows added since do not count)."""
    lines = []
    for table in sorted(before.rows):
        gone = before.rows[table] - after.rows.get(table, Counter())
        if gone:
            lines.append(
                f"{table}: {gone.total()} of {before.rows[table].total()} pre-existing row(s) gone or changed"
                f"{_example('was', gone)}"
            )
    return lines


def assert_unchanged(before: Contents, after: Contents, context: str) -> None:
    """Fail with one line per changed table unless every table has exactly its rows."""
    __tracebackhide__ = True
    _fail(changes(before, after), f"{context}: the data changed")


def assert_kept(before: Contents, after: Contents, context: str) -> None:
    """Fail with one line per table unless every row of `before` is still there, as it was."""
    __tracebackhide__ = True
    _fail(lost(before, after), f"{context}: pre-existing rows were lost")


def _fail(lines: list[str], head: str) -> None:
    __tracebackhide__ = True
    if lines:
        raise AssertionError("\n".join([f"{head} ({len(lines)} table(s)):", *(f"  {line}" for line in lines)]))


def _example(label: str, rows: Counter[str]) -> str:
    if not rows:
        return ""
    text = min(rows)
    shown = text if len(text) <= EXAMPLE_LENGTH else text[: EXAMPLE_LENGTH - 3] + "..."
    return f"\n    {label}: {shown}"
