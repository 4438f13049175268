"""Rollback round-trips: down returns the schema exactly to where it was, and touches no other table's rows.

Per migration: before -> up -> down equals before, and up again equals
after. The chain test walks the whole chain once, up to the head and back
down to the bootstrap (or to the history, which has no rollbacks to hold),
comparing every step with the way up. Migrations declared irreversible are
skipped with their reason.
"""

from __future__ import annotations

import psycopg
import pytest

from phase3test.fixtures import MigratedTo, RolledBackTo
from phase3test.inspection import contents
from phase3test.inspection.catalog import Properties, Snapshot, assert_same, snapshot
from phase3test.migrations.discovery import Migration, rollback_for
from phase3test.migrations.downward import clear_the_way, roll_back_seeded
from phase3test.migrations.history import ensure_history
from phase3test.migrations.runner import apply, revert
from phase3test.project import SupabaseProject


def test_rolling_back_restores_the_schema_and_re_applying_rebuilds_it(
    migration: Migration,
    migration_chain: list[Migration],
    migrated_to: MigratedTo,
    supabase_project: SupabaseProject,
) -> None:
    rollback = rollback_for(migration, supabase_project.rollbacks_dir)
    if rollback.missing:
        pytest.skip(f"{migration.path.name} has no rollback (the static suite fails on it)")
    if rollback.irreversible:
        pytest.skip(f"{migration.path.name} is declared irreversible: {rollback.irreversible}")
    conn = migrated_to(migration_chain.index(migration))
    before = snapshot(conn)
    apply(conn, migration)
    after = snapshot(conn)
    revert(conn, rollback)
    assert_same(before, snapshot(conn), f"after rolling back {migration.path.name}")  # check: rollbacks.restores
    apply(conn, migration)
    assert_same(
        after, snapshot(conn), f"after re-applying {migration.path.name} once rolled back"
    )  # check: rollbacks.rebuilds


def test_rolling_back_keeps_the_rows_of_every_table_it_does_not_change(
    migration: Migration,
    migration_chain: list[Migration],
    rolled_back_to: RolledBackTo,
    supabase_project: SupabaseProject,
) -> None:
    index = migration_chain.index(migration)
    conn, closed = rolled_back_to(index + 1)
    if closed:
        pytest.skip(f"cannot reach this version with seed data: {closed}")
    # Before the rows are read: what clearing the way removes is not the rollback's doing.
    clear_the_way(conn, rollback_for(migration, supabase_project.rollbacks_dir))
    before = snapshot(conn)
    columns = contents.columns_of(before)
    rows = contents.read(conn, columns)
    closed = roll_back_seeded(conn, migration_chain, index, supabase_project)
    if closed:
        pytest.skip(closed)
    untouched = untouched_tables(before, snapshot(conn))
    contents.assert_unchanged(  # check: rollbacks.other_tables_rows
        rows.only(untouched),
        contents.read(conn, {table: columns[table] for table in untouched}),
        f"rolling back {migration.path.name} (tables whose columns it leaves alone)",
    )


def test_the_whole_chain_goes_up_to_the_head_and_down_to_the_bootstrap(
    migration_chain: list[Migration],
    checked_migrations: list[Migration],
    empty_db: psycopg.Connection,
    supabase_project: SupabaseProject,
) -> None:
    """Linear: each step's snapshot is taken once on the way up and compared once on the way down; down
    through the migrations this suite checks (with history, to the last file of it)."""
    if not checked_migrations:
        pytest.skip("every migration is history: nothing to roll back")
    ensure_history(empty_db)
    snapshots = [snapshot(empty_db)]
    for migration in migration_chain:
        apply(empty_db, migration)
        snapshots.append(snapshot(empty_db))
    for index in range(len(migration_chain) - 1, -1, -1):
        if migration_chain[index] not in checked_migrations:
            break  # the history below has no rollbacks to hold
        rollback = rollback_for(migration_chain[index], supabase_project.rollbacks_dir)
        if rollback.missing:
            pytest.skip(f"walked down to {migration_chain[index].path.name}, which has no rollback (the static suite "
                        "fails on it)")  # fmt: skip
        if rollback.irreversible:
            pytest.skip(
                f"walked down to {migration_chain[index].path.name}, declared irreversible "
                f"({rollback.irreversible}); the {index} older migration(s) were not rolled back"
            )
        revert(empty_db, rollback)
        assert_same(
            snapshots[index], snapshot(empty_db), f"after rolling back {migration_chain[index].path.name}"
        )  # check: rollbacks.chain


def untouched_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables present on both sides with the same columns: a rollback must leave their rows alone."""
    old, new = _columns_by_table(before), _columns_by_table(after)
    both = contents.columns_of(before).keys() & contents.columns_of(after).keys()
    return sorted(table for table in both if old.get(table) == new.get(table))


def _columns_by_table(schema: Snapshot) -> dict[str, dict[str, Properties]]:
    grouped: dict[str, dict[str, Properties]] = {}
    for key, props in schema.objects["column"].items():
        grouped.setdefault(props["on"], {})[key] = props
    return grouped
