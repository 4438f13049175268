"""The lock profile of chosen migrations at a production-like scale: for each, a clone of the seeded head taken
down to the version before it (its rows kept), the tables it touches grown to half and then the whole of
`profile_rows`, the file applied and measured at both, and the figures carried to `production_rows`."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace

import psycopg

from phase3test.errors import SetupError
from phase3test.migrations.discovery import Migration
from phase3test.migrations.downward import roll_back_seeded
from phase3test.migrations.runner import apply
from phase3test.profiling.extrapolate import NOISE_MS, extrapolate
from phase3test.profiling.grow import Growth, grow, row_count
from phase3test.profiling.measure import Profile, StatementCost, profile
from phase3test.profiling.scale import RowCounts, production
from phase3test.profiling.workload import Workload
from phase3test.project import SupabaseProject
from phase3test.server import rungs
from phase3test.server.target import Target

_CLONES = itertools.count()  # clones of one migration's database are nested: each needs a name of its own


def profile_each(
    target: Target,
    template: str,
    chain: Sequence[Migration],
    chosen: Sequence[Migration],
    project: SupabaseProject,
    rows: RowCounts,
    production_rows: RowCounts,
) -> list[Profile]:
    """Each chosen migration measured on clones of `template` (the seeded head) rolled back to before it: at
    the seed data's scale to find the tables it touches, at half and at all of `rows` once they are grown, and
    with readers and writers on those tables; its figures then carried to `production_rows`."""
    profiles = []
    for migration in chosen:
        with _rolled_back(target, template, chain, migration, project) as base:
            first = _measure(target, base, migration)
            touched = sorted({lock.table for lock in first.locks} - first.created)
            if not touched:
                profiles.append(first)
                continue
            with psycopg.connect(target.conninfo(base), autocommit=True) as conn:
                now = {table: row_count(conn, table) for table in touched}
            wanted = rows.of(now)
            smaller, smaller_rows, measured, growth = None, now, first, [Growth(t, n, n, n) for t, n in now.items()]
            if wanted != now:
                halfway = {table: max(now[table], count // 2) for table, count in wanted.items()}
                smaller, first_copy = first, 1
                if halfway != now:
                    grown = _grow(target, base, halfway, first_copy)
                    smaller_rows, first_copy = {g.table: g.after for g in grown}, max(g.next_copy for g in grown)
                    smaller = _measure(target, base, migration)
                grown = _grow(target, base, wanted, first_copy)
                growth = [replace(g, before=now[g.table]) for g in grown]
                measured = _measure(target, base, migration)
            measured.growth = growth
            with (
                _clone(target, base, migration) as name,
                psycopg.connect(target.conninfo(name), autocommit=True) as conn,
                Workload(target.conninfo(name), touched) as load,
            ):
                apply(conn, migration)
            measured.waits = load.waits
            _carry(measured, smaller, smaller_rows, production(measured.rows, production_rows))
        profiles.append(measured)
    return profiles


def _grow(target: Target, name: str, wanted: dict[str, int], first_copy: int) -> list[Growth]:
    with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
        return [grow(conn, table, count, first_copy) for table, count in wanted.items()]


def _measure(target: Target, base: str, migration: Migration) -> Profile:
    """`migration` applied and measured on a clone of `base`, with the rows of each table it locked."""
    with _clone(target, base, migration) as name, psycopg.connect(target.conninfo(name), autocommit=True) as conn:
        measured = profile(conn, migration)
        measured.rows = {table: row_count(conn, table) for table in sorted({lock.table for lock in measured.locks})}
    return measured


def _carry(measured: Profile, smaller: Profile | None, smaller_rows: dict[str, int], wanted: dict[str, int]) -> None:
    """Each statement's time carried to production's rows `wanted` at the pace it grew from `smaller` (measured
    at `smaller_rows`); a lock is then held in production as long as measured plus what the statements from the
    one that took it to commit add there, and a query that waited for it waits that much longer."""
    measured.production_rows = {table: wanted[table] for table in measured.rows if table in wanted}
    grown = {t: n for t, n in measured.rows.items() if n > 0 and t in measured.production_rows}
    pace = {t: measured.production_rows[t] / n for t, n in grown.items()}
    dominant = max(pace, key=lambda t: pace[t], default=None)  # a statement naming no table grows as this one
    earlier = {cost.line: cost.ms for cost in smaller.statements} if smaller else {}
    carried = []
    for cost in measured.statements:
        named = [t for t in _tables_of(cost) if t in pace] or ([dominant] if dominant else [])
        if not named:
            carried.append(cost)
            continue
        table = max(named, key=lambda t: pace[t])
        smaller_ms = earlier.get(cost.line)
        every_row = table in cost.scanned or table in cost.rewrote or table in dict(cost.rows_locked)
        no_rows = not (cost.scanned or cost.rewrote or cost.rows_locked)
        estimate = extrapolate(
            cost.ms,
            grown[table],
            smaller_ms,
            smaller_rows.get(table, 0),
            measured.production_rows[table],
            reads_every_row=every_row,
            reads_no_rows=no_rows,
        )
        carried.append(replace(cost, at_production=estimate))
    # What each statement from here to commit adds in production: the time between statements stays as measured.
    added = itertools.accumulate(c.at_production.ms - c.ms if c.at_production else 0.0 for c in reversed(carried))
    measured.statements = [
        replace(cost, held_in_production=cost.held_ms + extra)
        for cost, extra in zip(carried, reversed(list(added)), strict=True)
    ]
    from_line = {cost.line: cost.expected_held_ms for cost in measured.statements}
    measured.locks = [replace(lock, in_production=from_line.get(lock.line)) for lock in measured.locks]
    strongest = measured.strongest()
    for wait in measured.waits:  # a query that waited for the migration waits as much longer as its lock is held
        holder = strongest.get(wait.table)
        if wait.waited_for and holder is not None and holder.held_ms > 0:
            wait.expected_ms = wait.longest_ms * holder.expected_ms / holder.held_ms


def _tables_of(cost: StatementCost) -> set[str]:
    """The tables a statement locked, rewrote, read in full or changed rows of: what its time grows with."""
    return {t for t, _ in cost.locks} | set(cost.rewrote) | set(cost.scanned) | {t for t, _ in cost.rows_locked}


@contextlib.contextmanager
def _rolled_back(
    target: Target, template: str, chain: Sequence[Migration], migration: Migration, project: SupabaseProject
) -> Iterator[str]:
    """A clone of the seeded head taken down to just before `migration` (its rows kept), dropped afterwards; from
    the nearest rung above it when the run has rungs."""
    keep = list(chain).index(migration)
    with psycopg.connect(target.conninfo(), autocommit=True) as admin:
        rung = rungs.nearest(rungs.found(admin, template, rungs.DOWN), keep, rungs.DOWN)
    with _clone(target, rung[1] if rung else template, migration) as name:
        with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
            closed = roll_back_seeded(conn, list(chain), keep, project)
        if closed:
            raise SetupError(f"cannot profile {migration.path.name} on seed data: {closed}")
        yield name


@contextlib.contextmanager
def _clone(target: Target, source: str, migration: Migration) -> Iterator[str]:
    """A new database copied from `source`, dropped when done with."""
    with psycopg.connect(target.conninfo(), autocommit=True) as admin:
        name = target.name(f"profile_{migration.version}_{os.getpid()}_{next(_CLONES)}")
        target.create(admin, name, source)
        try:
            yield name
        finally:
            target.drop(admin, name)


def render(profiles: Sequence[Profile]) -> str:
    """Per migration: its time, each statement with its locks, rewrites and full reads, then per table it did
    not create the strongest lock held until commit, with the rows of the table and whom it blocks."""
    lines = []
    for measured in profiles:
        how = "in one transaction" if measured.transactional else "statement by statement (outside a transaction)"
        lines.append(f"{measured.migration}: {measured.ms:.1f} ms, {how}")
        for grown in measured.growth:
            if grown.after > grown.before:
                parents = f" (and {', '.join(grown.parents)}, which its key references)" if grown.parents else ""
                lines.append(f"  grew {grown.table} from {grown.before:,} to {grown.after:,} rows{parents}")
            if grown.short:
                lines.append(f"  {grown.table} kept at {grown.after:,} rows, not {grown.target:,}: {grown.short}")
        for cost in measured.statements:
            effects = [f"takes {mode} on {table}" for table, mode in cost.locks]
            effects += [f"rewrites {table}" for table in cost.rewrote]
            effects += [f"reads {table} in full" for table in cost.scanned]
            lines.append(
                f"  line {cost.line:<4} {cost.ms:9.1f} ms  {cost.sql.splitlines()[0][:60] if cost.sql else ''}"
                + (f"  ({'; '.join(effects)})" if effects else "")
            )
            if cost.at_production and cost.ms >= NOISE_MS:
                lines.append(f"       in production {cost.at_production.describe()}")
        for lock in sorted(measured.strongest().values(), key=lambda lock: -lock.held_ms):
            if lock.table in measured.created:
                continue  # nobody could have been waiting on a table that did not exist
            blocks = f", blocks {lock.blocks}" if lock.blocks else ""
            rows = f"{measured.rows.get(lock.table, 0):,} rows"
            lines.append(
                f"  held {lock.held_ms:9.1f} ms  {lock.mode} on {lock.table} ({rows}), from line {lock.line}{blocks}"
            )
            if lock.blocks and lock.in_production is not None:
                lines.append(
                    f"       in production ≈ {lock.in_production:,.0f} ms (to commit, each statement carried there)"
                )
        for wait in measured.waits:
            waited = f" (waited for {', '.join(sorted(wait.waited_for))})" if wait.waited_for else ""
            expected = f", ≈ {wait.expected_ms:,.0f} ms in production" if wait.expected_ms is not None else ""
            lines.append(f"  {wait.kind} of {wait.table}: longest query {wait.longest_ms:.1f} ms{waited}{expected}")
    return "\n".join(lines) + "\n" if lines else "no migration to profile\n"
