"""The lock profile of chosen migrations on the project's seeded data: for each, a fresh clone of the seeded
head taken down to the version before it (its rows kept), then the file applied and measured."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import psycopg

from phase3test.errors import SetupError
from phase3test.migrations.discovery import Migration
from phase3test.migrations.downward import roll_back_seeded
from phase3test.migrations.runner import apply
from phase3test.profiling.measure import Profile, profile
from phase3test.profiling.workload import Workload
from phase3test.project import SupabaseProject
from phase3test.server.target import Target


def profile_each(
    target: Target, template: str, chain: Sequence[Migration], chosen: Sequence[Migration], project: SupabaseProject
) -> list[Profile]:
    """Each chosen migration measured on its own clone of `template` (the seeded head): alone, then on a second
    clone with readers and writers on the tables it locked (those it did not create)."""
    profiles = []
    for migration in chosen:
        with _before(target, template, chain, migration, project) as (conn, _):
            measured = profile(conn, migration)
            measured.rows = _rows(conn, [lock.table for lock in measured.locks])
        touched = sorted({lock.table for lock in measured.locks} - measured.created)
        if touched:
            with _before(target, template, chain, migration, project) as (conn, name):
                with Workload(target.conninfo(name), touched) as load:
                    apply(conn, migration)
                measured.waits = load.waits
        profiles.append(measured)
    return profiles


@contextlib.contextmanager
def _before(
    target: Target, template: str, chain: Sequence[Migration], migration: Migration, project: SupabaseProject
) -> Iterator[tuple[psycopg.Connection, str]]:
    """A clone of the seeded head taken down to just before `migration` (its rows kept), dropped afterwards."""
    with psycopg.connect(target.conninfo(), autocommit=True) as admin:
        name = target.name(f"profile_{migration.version}")
        target.create(admin, name, template)
        try:
            with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
                closed = roll_back_seeded(conn, list(chain), list(chain).index(migration), project)
                if closed:
                    raise SetupError(f"cannot profile {migration.path.name} on seed data: {closed}")
                yield conn, name
        finally:
            target.drop(admin, name)


def _rows(conn: psycopg.Connection, tables: list[str]) -> dict[str, int]:
    """How many rows each table the migration locked holds now (the scale its figures were measured at)."""
    counts = {}
    for table in sorted(set(tables)):
        row = conn.execute(f"select count(*) from {table}").fetchone()  # a name pg_catalog gave, quoted
        counts[table] = int(row[0]) if row else 0
    return counts


def render(profiles: Sequence[Profile]) -> str:
    """Per migration: its time, each statement with its locks, rewrites and full reads, then per table it did
    not create the strongest lock held until commit, with the rows of the table and whom it blocks."""
    lines = []
    for measured in profiles:
        how = "in one transaction" if measured.transactional else "statement by statement (outside a transaction)"
        lines.append(f"{measured.migration}: {measured.ms:.1f} ms, {how}")
        for cost in measured.statements:
            effects = [f"takes {mode} on {table}" for table, mode in cost.locks]
            effects += [f"rewrites {table}" for table in cost.rewrote]
            effects += [f"reads {table} in full" for table in cost.scanned]
            lines.append(
                f"  line {cost.line:<4} {cost.ms:9.1f} ms  {cost.sql.splitlines()[0][:60] if cost.sql else ''}"
                + (f"  ({'; '.join(effects)})" if effects else "")
            )
        for lock in sorted(measured.strongest().values(), key=lambda lock: -lock.held_ms):
            if lock.table in measured.created:
                continue  # nobody could have been waiting on a table that did not exist
            blocks = f", blocks {lock.blocks}" if lock.blocks else ""
            rows = f"{measured.rows.get(lock.table, 0):,} rows"
            lines.append(
                f"  held {lock.held_ms:9.1f} ms  {lock.mode} on {lock.table} ({rows}), from line {lock.line}{blocks}"
            )
        for wait in measured.waits:
            waited = f" (waited for {', '.join(sorted(wait.waited_for))})" if wait.waited_for else ""
            lines.append(f"  {wait.kind} of {wait.table}: longest query {wait.longest_ms:.1f} ms{waited}")
    return "\n".join(lines) + "\n" if lines else "no migration to profile\n"
