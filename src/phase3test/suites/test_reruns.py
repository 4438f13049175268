"""Re-runs: the runner on a live, seeded database loses nothing.

A second run of the runner is a no-op. A database seeded at an earlier
version (the seeded head rolled back) and then migrated to the head keeps
every row it had, value for value, in the columns it had; and the columns the
newer migrations add are backfilled wherever the seed data fills them. With a
base ref (`--pg-base-ref origin/main`), the files production has applied
stay as they are and new ones come after them.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from phase3test.fixtures import RolledBackTo
from phase3test.inspection import contents
from phase3test.inspection.catalog import Snapshot, assert_same, snapshot
from phase3test.migrations.discovery import Migration
from phase3test.migrations.gitref import checksums_on_ref
from phase3test.migrations.history import MigrationDriftError, verify
from phase3test.migrations.runner import migrate
from phase3test.project import SupabaseProject
from phase3test.report.regression import SCHEMA
from phase3test.settings import Settings


def test_a_second_run_of_the_runner_is_a_no_op(
    migration_chain: list[Migration], fresh_db: psycopg.Connection, record_property: Callable[[str, object], None]
) -> None:
    schema = snapshot(fresh_db)
    record_property(SCHEMA, _schema_record(fresh_db, schema))
    rows = contents.read(fresh_db, contents.columns_of(schema))
    applied = migrate(fresh_db, migration_chain)
    assert not applied, (
        f"a second run applied {[m.path.name for m in applied]} again"
    )  # check: reruns.second_run_applies_nothing
    assert_same(schema, snapshot(fresh_db), "a second run of the runner")  # check: reruns.second_run_schema
    contents.assert_unchanged(
        rows, contents.read(fresh_db, contents.columns_of(schema)), "a second run of the runner"
    )  # check: reruns.second_run_rows


def _schema_record(conn: psycopg.Connection, schema: Snapshot) -> dict[str, object]:
    """For the report: the migrated schema (digest, size per category, the snapshot itself for a later
    baseline comparison) and the server's version."""
    version = conn.execute("show server_version").fetchone()
    return {
        "digest": schema.digest(),
        "objects": {category: len(items) for category, items in schema.objects.items()},
        "snapshot": schema.to_json(),
        "server_version": version[0] if version else None,
    }


def test_the_migrations_on_the_base_ref_are_untouched_and_new_ones_come_after(
    migration_chain: list[Migration], supabase_project: SupabaseProject, pg_settings: Settings
) -> None:
    ref = pg_settings.base_ref
    if not ref:
        pytest.skip("no base ref to compare with (in a pull request's CI: --pg-base-ref origin/main)")
    problem = ""
    try:
        verify(migration_chain, checksums_on_ref(supabase_project.migrations_dir, ref))
    except MigrationDriftError as exc:
        problem = str(exc)
    if problem:
        pytest.fail(
            f"compared with {ref}, whose migrations production runs: {problem}", pytrace=False
        )  # check: reruns.base_ref


def test_the_seed_data_gives_the_data_checks_rows_to_compare(fresh_db: psycopg.Connection) -> None:
    rows = contents.read(fresh_db, contents.columns_of(snapshot(fresh_db, ["public"])))
    if not rows.total():
        pytest.skip("no rows in public: the data checks compare empty tables (set phase3test_seeders)")


def test_a_database_from_before_this_migration_keeps_its_rows_up_to_the_head(
    migration: Migration,
    migration_chain: list[Migration],
    db: psycopg.Connection,
    rolled_back_to: RolledBackTo,
) -> None:
    head_columns = contents.columns_of(snapshot(db))  # the data head, read in a transaction rolled back after
    seeded_nulls = contents.nulls(db, head_columns)
    older = migration_chain.index(migration)
    conn, closed = rolled_back_to(older)
    if closed:
        pytest.skip(f"cannot reach the version before {migration.path.name} with seed data: {closed}")
    columns = contents.columns_of(snapshot(conn))
    # Compared over what still exists at the head: a column a later migration drops is not a lost row.
    kept = {t: [c for c in names if c in head_columns[t]] for t, names in columns.items() if t in head_columns}
    rows = contents.read(conn, kept)
    applied = migrate(conn, migration_chain)
    assert [m.path.name for m in applied] == [m.path.name for m in migration_chain[older:]]
    context = f"migrating to the head from before {migration.path.name}"
    contents.assert_kept(rows, contents.read(conn, kept), context)  # check: reruns.rows_kept
    # Columns added since that the seed data fills on every row must be filled on the old rows too.
    added = {
        table: [
            c for c in names if c not in columns[table] and seeded_nulls[table][0] and not seeded_nulls[table][1][c]
        ]
        for table, names in head_columns.items()
        if table in columns and rows.rows[table]
    }
    missing = [
        f"{table}.{column}: NULL on {count} of the {rows.rows[table].total()} row(s) that predate it"
        for table, (_, per_column) in contents.nulls(conn, added).items()
        for column, count in per_column.items()
        if count
    ]
    assert not missing, (
        f"{context}: columns the seed data fills on every row were not backfilled:\n  "
        + (  # check: reruns.backfilled
            "\n  ".join(missing)
        )
    )
