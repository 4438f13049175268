"""Order seeders, then load their rows with COPY in one transaction, or write them as SQL.

All or nothing: a seeder that fails rolls back every row of the run, and the
error names the seeder and the table. As a superuser, foreign keys are
checked once after loading rather than per row (`foreign_keys`). Timing per seeder feeds the rows/s
figures of `make bench` and the CLI's progress line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from phase3test.errors import Phase3TestError, SetupError
from phase3test.seeding.background import BackgroundChecks
from phase3test.seeding.foreign_keys import DeferredForeignKeys, ForeignKeyViolation
from phase3test.seeding.model import LOADED, Batch, SeedContext, Seeder, Step, Update


class SeedError(Phase3TestError):
    """A seeder failed; nothing of the run was kept."""


@dataclass
class SeederResult:
    name: str
    rows: int = 0
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)

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


def generate(seeders: list[Seeder], seed: int, scale: int) -> Iterator[tuple[Seeder, Iterator[Step]]]:
    """Each seeder with its batches, in order; later seeders see what earlier ones shared.

    Consume each seeder's batches before moving on: that is when it shares.
    """
    shared: dict[str, Any] = {LOADED: {}}
    for seeder in seeders:
        yield seeder, _recorded(seeder.generate(SeedContext(seed, seeder.name, scale, shared)), shared[LOADED])


def _recorded(steps: Iterator[Step], loaded: dict[str, list[Any]]) -> Iterator[Step]:
    """Keep each batch's rows so later seeders can read them (`SeedContext.rows`)."""
    for batch in steps:
        if isinstance(batch, Update):
            yield batch
            continue
        rows = list(batch.rows)
        loaded.setdefault(batch.table, []).append((tuple(batch.columns), rows))
        yield Batch(batch.table, batch.columns, rows)


def seed(
    conn: psycopg.Connection, seeders: list[Seeder], seed: int, scale: int, progress: Progress | None = None
) -> SeedReport:
    """Load every seeder's rows with COPY, all in one transaction."""
    report = SeedReport(seed, scale)
    loader = _Loader(conn, report, progress)
    try:
        with conn.transaction():
            try:
                _load_all(loader, generate(seeders, seed, scale))
            except BaseException:
                loader.checks.abandon()  # the connection leaves pipeline mode before the rollback
                raise
            checking = time.perf_counter()
            loader.settle()
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
        raise SeedError(
            f"{loader.stage} failed, nothing was kept: {exc.diag.message_primary or exc}"
            + (f" ({exc.diag.table_name})" if exc.diag.table_name else "")
        ) from exc
    return report


def _load_all(loader: _Loader, generated: Iterator[tuple[Seeder, Iterator[Step]]]) -> None:
    for seeder, steps in generated:
        if loader.checks.running:
            # The server is checking the seeder before's deferred constraints: meanwhile, generate every
            # seeder left (generation never touches the database), then load them in order.
            ahead = [_generated(seeder, steps), *(_generated(s, more) for s, more in generated)]
            for later, later_steps, seconds in ahead:
                loader.load(later, later_steps, seconds)
            return
        loader.load(seeder, steps)


def _generated(seeder: Seeder, steps: Iterator[Step]) -> tuple[Seeder, list[Step], float]:
    started = time.perf_counter()
    done = list(steps)
    return seeder, done, time.perf_counter() - started


class _Loader:
    """Loads seeders one by one and keeps their figures; what it waits for in checks counts as checks."""

    def __init__(self, conn: psycopg.Connection, report: SeedReport, progress: Progress | None) -> None:
        self.conn, self.report, self.progress = conn, report, progress
        self.foreign_keys, self.checks = DeferredForeignKeys(conn), BackgroundChecks(conn)
        self.stage = ""

    def load(self, seeder: Seeder, steps: Iterable[Step], generated_in: float = 0.0) -> None:
        """COPY the seeder's batches (run its updates), then start its deferred checks in the background."""
        result, started, waited = SeederResult(seeder.name), time.perf_counter(), 0.0
        written: dict[str, None] = {}  # in order; updates included
        for step in steps:  # generating a step overlaps the seeder before's checks
            waited += self.settle()
            self.stage = f"seeder {seeder.name!r}"
            written[step.table] = None
            if isinstance(step, Update):
                self.foreign_keys.before_writing(step.table, seeder.name, rows=0)
                self.conn.execute(step.sql)
                continue
            rows = step.rows if isinstance(step.rows, list) else list(step.rows)
            self.foreign_keys.before_writing(step.table, seeder.name, rows=len(rows))
            loaded = _copy(self.conn, step.table, step.columns, rows)
            result.tables[step.table] = result.tables.get(step.table, 0) + loaded
        result.rows = sum(result.tables.values())
        result.seconds = time.perf_counter() - started - waited + generated_in
        self.report.results.append(result)
        if self.progress:
            self.progress(result)
        self.stage = f"seeder {seeder.name!r} (its deferred constraints)"  # pipeline mode may report them early
        self.checks.start(seeder.name, list(written))

    def settle(self) -> float:
        """Wait for the checks running in the background, if any; how long that took."""
        if not self.checks.running:
            return 0.0
        self.stage = f"seeder {self.checks.seeder!r} (its deferred constraints)"
        started = time.perf_counter()
        self.checks.settle()
        waited = time.perf_counter() - started
        self.report.checks_seconds += waited
        return waited


def _copy(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: list[Sequence[Any]]) -> int:
    schema, _, name = table.rpartition(".")
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(schema or "public", name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


def emit_sql(seeders: list[Seeder], seed: int, scale: int) -> str:
    """The same rows as INSERT statements, for a supabase/seed.sql that `supabase db reset` loads.

    `overriding system value` keeps the seeded ids of identity columns, as COPY does.
    """
    parts = [f"-- Generated by `phase3test seed --emit-sql` (seed {seed}, scale {scale}). Do not edit.\n"]
    loaded: dict[str, None] = {}
    for _seeder, steps in generate(seeders, seed, scale):
        for batch in steps:
            if isinstance(batch, Update):
                parts.append(batch.sql.rstrip().rstrip(";") + ";\n")
                continue
            loaded[batch.table] = None
            rows = [sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Literal, row))) for row in batch.rows]
            schema, _, table = batch.table.rpartition(".")
            head = sql.SQL("insert into {} ({}) overriding system value values\n  ").format(
                sql.Identifier(schema or "public", table), sql.SQL(", ").join(map(sql.Identifier, batch.columns))
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
