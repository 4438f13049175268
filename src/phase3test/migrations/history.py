"""The migration history a database keeps, as the Supabase CLI keeps it, and what disagrees with the files.

`supabase_migrations.schema_migrations(version, statements, name)` is
created exactly as `supabase db push` creates it, so `supabase migration
list` agrees with us and we accept history the CLI wrote. Beside it we keep
a SHA-256 of every file we applied, so a file edited afterwards is reported,
not skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import psycopg

from phase3test.errors import Phase3TestError
from phase3test.migrations.discovery import Migration
from phase3test.migrations.statements import Statement

HISTORY_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
create table if not exists supabase_migrations.phase3test_checksums (
  version text primary key,
  sha256 text not null,
  applied_at timestamptz not null default now()
);
"""


class MigrationDriftError(Phase3TestError):
    """The database's history and the files on disk disagree."""


def ensure_history(conn: psycopg.Connection) -> None:
    """Create the CLI's history table (same shape as `supabase db push`) and our checksums."""
    with conn.transaction():
        conn.execute(HISTORY_DDL)


def applied_checksums(conn: psycopg.Connection) -> dict[str, str | None]:
    """Applied versions with the checksum we recorded (None: applied by another tool)."""
    rows = conn.execute(
        """select m.version, c.sha256
             from supabase_migrations.schema_migrations m
             left join supabase_migrations.phase3test_checksums c using (version)"""
    ).fetchall()
    return dict(rows)


def verify(migrations: Iterable[Migration], applied: Mapping[str, str | None]) -> list[Migration]:
    """Return the pending migrations, or explain how history and files disagree."""
    migrations = list(migrations)
    by_version = {m.version: m for m in migrations}
    problems = []
    for version, checksum in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            problems.append(f"version {version} is applied to the database but has no file in the migrations folder")
        elif checksum is not None and checksum != migration.checksum:
            problems.append(
                f"{migration.path.name} was edited after it was applied "
                f"(applied sha256 {checksum[:12]}, file now {migration.checksum[:12]}); "
                "revert the edit and put the change in a new migration"
            )
    pending = [m for m in migrations if m.version not in applied]
    latest = max(applied, default=None)
    for migration in pending:
        if latest is not None and migration.version < latest:
            problems.append(
                f"{migration.path.name} would be inserted before the last applied migration {latest}; "
                "rename it with a newer timestamp"
            )
    if problems:
        raise MigrationDriftError("migration history does not match the files:\n  " + "\n  ".join(problems))
    return pending


def record(conn: psycopg.Connection, migration: Migration, statements: list[Statement]) -> None:
    """Write the history row the CLI would, and our checksum of the file."""
    conn.execute(
        "insert into supabase_migrations.schema_migrations (version, name, statements) values (%s, %s, %s)",
        (migration.version, migration.name, [s.text for s in statements]),
    )
    conn.execute(
        """insert into supabase_migrations.phase3test_checksums (version, sha256) values (%s, %s)
           on conflict (version) do update set sha256 = excluded.sha256, applied_at = now()""",
        (migration.version, migration.checksum),
    )


def forget(conn: psycopg.Connection, migration: Migration) -> None:
    """Remove a rolled-back migration from the history."""
    conn.execute("delete from supabase_migrations.schema_migrations where version = %s", (migration.version,))
    conn.execute("delete from supabase_migrations.phase3test_checksums where version = %s", (migration.version,))
