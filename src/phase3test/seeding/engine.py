"""Order seeders, then load their rows with COPY in one transaction, or write them as SQL.

All or nothing: a seeder that fails rolls back every row of the run, and the
error names the seeder and the table. As a superuser, foreign keys are
checked once after loading rather than per row (`foreign_keys`). Timing per seeder feeds the rows/s
figures of `make bench` and the CLI's progress line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from phase3test.errors import Phase3TestError, SetupError
from phase3test.seeding.copy_format import copy_statement, table_types, table_with_columns
from phase3test.seeding.deferred import check_deferred_now
from phase3test.seeding.foreign_keys import DeferredForeignKeys, ForeignKeyViolation
from phase3test.seeding.model import Seeder, Update, generate_steps
from phase3test.seeding.producer import CopyRows, GenerationFailed, Instruction, Producer, RunSql, SeederGenerated


class SeedError(Phase3TestError):
    """A seeder failed; nothing of the run was kept."""


@dataclass
class SeederResult:
    name: str
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)  # rows loaded per table

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class SeedReport:
    seed: int
    scale: int
    results: list[SeederResult] = field(default_factory=list)
    # After the last seeder: foreign keys checked set-based (as a superuser), the
    # deferred constraint triggers (e.g. a balanced ledger), sequences, the commit.
    # Part of the seeding's cost, though no single seeder's.
    checks_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results) + self.checks_seconds


Progress = Callable[[SeederResult], None]


def plan(seeders: Iterable[Seeder], only: Iterable[str] | None = None) -> list[Seeder]:
    """Seeders in dependency order (stable: declaration order breaks ties).

    `only` picks domains by name; what they depend on comes along.
    """
    by_name = {s.name: s for s in seeders}
    wanted = list(by_name) if only is None else list(only)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise SetupError(
            f"unknown seeding domain(s): {', '.join(unknown)}",
            hint=f"choose from: {', '.join(by_name) or '(no seeders configured)'}",
        )
    ordered: list[Seeder] = []
    visiting: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if any(s.name == name for s in ordered):
            return
        if name in visiting:
            raise SetupError(f"seeders depend on each other in a cycle: {' -> '.join((*chain, name))}")
        if name not in by_name:
            raise SetupError(f"seeder {chain[-1]!r} depends on {name!r}, which is not configured")
        visiting.add(name)
        for dependency in by_name[name].depends_on:
            visit(dependency, (*chain, name))
        visiting.discard(name)
        ordered.append(by_name[name])

    for name in wanted:
        visit(name, ())
    return ordered


def seed(
    conn: psycopg.Connection, seeders: list[Seeder], seed: int, scale: int, progress: Progress | None = None
) -> SeedReport:
    """Load every seeder's rows with COPY, all in one transaction, while a second process generates them."""
    report = SeedReport(seed, scale)
    loader = _Loader(conn, report, progress)
    try:
        with conn.transaction():
            types = table_types(conn, sorted({table for seeder in seeders for table in seeder.tables}))
            with Producer(conn, seeders, seed, scale, types) as produced:
                for instruction in produced:
                    loader.apply(instruction)
            checking = time.perf_counter()
            loader.stage = "the checks after loading (deferred constraints)"
            loader.foreign_keys.check()
            loader.stage = "advancing the loaded tables' sequences"
            conn.execute(advance_sequences([t for r in report.results for t in r.tables]))
            loader.stage = "the commit (deferred constraint checks)"
        report.checks_seconds += time.perf_counter() - checking
    except ForeignKeyViolation as exc:
        who = " or ".join(repr(name) for name in exc.writers) or "?"
        raise SeedError(f"seeder {who} failed, nothing was kept: {exc} ({exc.table})") from exc
    except psycopg.Error as exc:
        # COPY's input errors name no table: their context does ("COPY children, line 2, column age: ...").
        where = exc.diag.table_name or next(iter((exc.diag.context or "").splitlines()), "")
        raise SeedError(
            f"{loader.stage} failed, nothing was kept: {exc.diag.message_primary or exc}"
            + (f" ({where})" if where else "")
        ) from exc
    return report


class _Loader:
    """Carries out the producer's instructions and keeps each seeder's figures."""

    def __init__(self, conn: psycopg.Connection, report: SeedReport, progress: Progress | None) -> None:
        self.conn, self.report, self.progress = conn, report, progress
        self.foreign_keys = DeferredForeignKeys(conn)
        self.stage = ""
        self._result: SeederResult | None = None
        self._written: dict[str, None] = {}  # the current seeder's tables, in order; updates included
        self._since = time.perf_counter()  # when the seeder before was done

    def apply(self, instruction: Instruction) -> None:
        if isinstance(instruction, GenerationFailed):
            raise SeedError(  # with the seeder's traceback: where in its own code
                f"seeder {instruction.seeder!r} failed while generating rows, nothing was kept: {instruction.error}"
                + (f"\n{instruction.traceback.rstrip()}" if instruction.traceback else "")
            )
        if isinstance(instruction, SeederGenerated):
            self._finish(instruction.seeder)
            return
        self.stage = f"seeder {instruction.seeder!r}"
        if self._result is None:
            self._result = SeederResult(instruction.seeder)
        self._written[instruction.table] = None
        if isinstance(instruction, RunSql):
            self.foreign_keys.before_writing(instruction.table, instruction.seeder, rows=0)
            self.conn.execute(instruction.sql)
            return
        self.foreign_keys.before_writing(instruction.table, instruction.seeder, rows=instruction.rows)
        _copy(self.conn, instruction)
        tables = self._result.tables
        tables[instruction.table] = tables.get(instruction.table, 0) + instruction.rows

    def _finish(self, seeder: str) -> None:
        """The seeder's deferred constraints checked now, so a failure is charged to it; its figures kept."""
        self.stage = f"seeder {seeder!r} (its deferred constraints)"
        check_deferred_now(self.conn, list(self._written))
        result = self._result or SeederResult(seeder)
        now = time.perf_counter()
        result.seconds, self._since = now - self._since, now
        self.report.results.append(result)
        self._result, self._written = None, {}
        if self.progress:
            self.progress(result)


def _copy(conn: psycopg.Connection, rows: CopyRows) -> None:
    with conn.cursor().copy(copy_statement(rows.table, rows.columns, rows.binary)) as copy:
        copy.write(rows.data)


def emit_sql(seeders: list[Seeder], seed: int, scale: int) -> str:
    """The same rows as INSERT statements, for a supabase/seed.sql that `supabase db reset` loads.

    `overriding system value` keeps the seeded ids of identity columns, as COPY does.
    """
    parts = [f"-- Generated by `phase3test seed --emit-sql` (seed {seed}, scale {scale}). Do not edit.\n"]
    loaded: dict[str, None] = {}
    for _seeder, steps in generate_steps(seeders, seed, scale):
        for batch in steps:
            if isinstance(batch, Update):
                parts.append(batch.sql.rstrip().rstrip(";") + ";\n")
                continue
            loaded[batch.table] = None
            rows = [sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, row))) for row in batch.rows]
            head = sql.SQL("insert into {} overriding system value values\n  ").format(
                table_with_columns(batch.table, batch.columns)
            )
            for start in range(0, len(rows), 500):
                chunk = sql.SQL(",\n  ").join(rows[start : start + 500])
                parts.append((head + chunk).as_string(None) + ";\n")
    parts.append(advance_sequences(list(loaded)) + "\n")
    return "".join(parts)


def advance_sequences(tables: list[str]) -> str:
    """SQL moving each loaded table's identity or serial sequence past the highest value now in it.

    Rows loaded with explicit ids leave the sequence behind them; the
    application's next insert would collide with a seeded row.
    """
    names = ", ".join(sql.Literal(t).as_string(None) for t in tables) or "null"
    return f"""do $advance$
declare
  col record;
  seq text;
  highest bigint;
begin
  for col in select a.attrelid::regclass::text as tbl, a.attname
               from pg_attribute a
              where a.attrelid in (select to_regclass(t) from unnest(array[{names}]::text[]) t)
                and a.attnum > 0 and not a.attisdropped
  loop
    seq := pg_get_serial_sequence(col.tbl, col.attname);
    if seq is not null then
      execute format('select max(%I) from %s', col.attname, col.tbl) into highest;
      if highest is not null then
        perform setval(seq, highest);
      end if;
    end if;
  end loop;
end
$advance$;"""
