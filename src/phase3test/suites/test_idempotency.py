"""Idempotency: a migration applied a second time on top of itself raises nothing and changes nothing.

Neither the schema (catalog snapshot) nor any row of any table: a backfill
that overwrites values on a re-run fails here. The database is the seeded
head rolled back to the migration's version, so the rows are real; where a
newer migration's rollback closes the way down as it declares, the check runs
on an unseeded database instead, and the report says so for that file.
"""

from __future__ import annotations

from collections.abc import Callable

from phase3test.fixtures import MigratedTo, RolledBackTo
from phase3test.inspection import contents
from phase3test.inspection.catalog import assert_same, snapshot
from phase3test.migrations.discovery import Migration
from phase3test.migrations.runner import reapply
from phase3test.report.regression import CONDITIONS


def test_applying_a_second_time_changes_neither_schema_nor_data(
    migration: Migration,
    migration_chain: list[Migration],
    rolled_back_to: RolledBackTo,
    migrated_to: MigratedTo,
    record_property: Callable[[str, object], None],
) -> None:
    conn, closed = rolled_back_to(migration_chain.index(migration) + 1)
    if closed:
        # No way down with data: check the schema and whatever rows the migrations themselves write.
        record_property(CONDITIONS, f"ran on an unseeded database: {closed}")
        conn = migrated_to(migration_chain.index(migration) + 1)
    schema = snapshot(conn)
    rows = contents.read(conn, contents.columns_of(schema))
    reapply(conn, migration)
    context = f"{migration.path.name} applied a second time" + (f" (on unseeded data: {closed})" if closed else "")
    assert_same(schema, snapshot(conn), context)  # check: idempotency.schema
    contents.assert_unchanged(
        rows, contents.read(conn, contents.columns_of(schema)), context
    )  # check: idempotency.rows
