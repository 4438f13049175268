"""A database taken down the chain to an earlier version with its rows: the seeded head, rolled back newest
first. How the suites and the lock profile get real rows at the version before a migration."""

from __future__ import annotations

import psycopg

from phase3test.migrations.discovery import Migration, Rollback, rollback_for
from phase3test.migrations.history import applied_checksums
from phase3test.migrations.runner import MigrationError, revert
from phase3test.project import SupabaseProject


def roll_back_seeded(conn: psycopg.Connection, chain: list[Migration], keep: int, project: SupabaseProject) -> str:
    """Roll `conn` (the seeded head) back, newest first, until only the first `keep` migrations are applied.

    The rows that survive are the seed data as it stood at that version: the
    tables and columns the rolled-back migrations added are gone, the rest is
    kept. Returns "" on success, else why the way down is closed: a newer
    migration is irreversible, has no rollback, or its rollback refused with
    the error it declares (`-- refuses: <SQLSTATE> <when>`) and nothing is
    declared to clear the way; `conn` is then unusable. Any other failure of a
    rollback on seed data is a defect and is raised, naming the file and the
    statement: an undeclared error, a declared one of another SQLSTATE, or the
    declared one still raised after `-- cleared by:` ran.
    """
    applied = applied_checksums(conn)
    for migration in reversed([m for m in chain[keep:] if m.version in applied]):
        rollback = rollback_for(migration, project.rollbacks_dir)
        if rollback.irreversible:
            return f"{migration.path.name} is declared irreversible: {rollback.irreversible}"
        if rollback.script is None:
            return f"{migration.path.name} has no rollback"
        cleared = clear_the_way(conn, rollback)
        try:
            revert(conn, rollback)
        except MigrationError as exc:
            if not _is_the_declared_refusal(rollback, exc, cleared):
                raise
            return f"the rollback of {migration.path.name} refuses {rollback.refuses}: {exc.message}"
    return ""


def _is_the_declared_refusal(rollback: Rollback, error: MigrationError, cleared: bool) -> bool:
    refusal = rollback.refuses
    return refusal is not None and not cleared and refusal.sqlstate is not None and error.sqlstate == refusal.sqlstate


def clear_the_way(conn: psycopg.Connection, rollback: Rollback) -> bool:
    """Run the statement a refusing rollback declares clears its way (`-- cleared by: <sql>`), if any; True
    when it ran."""
    if not (rollback.refuses and rollback.cleared_by):
        return False
    with conn.transaction():
        conn.execute(rollback.cleared_by)
    return True
