"""The whole chain: up to the head and back down to the bootstrap, one step at a time.

Linear in the number of migrations: each snapshot is taken once on the way up
and compared once on the way down.
"""

from __future__ import annotations

import psycopg

from phase3test.catalog import Snapshot, assert_same, snapshot
from phase3test.migrations import apply, discover, ensure_history, migrate, revert, rollback_for
from phase3test.seeding import load, plan, seed


def row_checksums(conn: psycopg.Connection, tables: list[str]) -> dict[str, str]:
    return {
        table: conn.execute(
            f"select count(*) || ':' || md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from {table} t"
        ).fetchone()[0]
        for table in tables
    }


def unchanged_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables present on both sides with the same columns: their rows must survive a rollback untouched."""
    columns_before, columns_after = before.objects["column"], after.objects["column"]
    tables = set(before.objects["table"]) & set(after.objects["table"])
    return sorted(
        table
        for table in tables
        if {k: v for k, v in columns_before.items() if v["on"] == table}
        == {k: v for k, v in columns_after.items() if v["on"] == table}
    )


def test_up_to_the_head_and_down_to_the_bootstrap(empty_db, supabase_project):
    migrations = discover(supabase_project.migrations_dir).migrations
    ensure_history(empty_db)
    snapshots = [snapshot(empty_db)]
    for migration in migrations:
        apply(empty_db, migration)
        snapshots.append(snapshot(empty_db))
    for index in range(len(migrations) - 1, -1, -1):
        revert(empty_db, rollback_for(migrations[index], supabase_project.rollbacks_dir))
        assert_same(snapshots[index], snapshot(empty_db), f"after rolling back {migrations[index].path.name}")


def test_rolling_back_the_newest_migration_keeps_every_other_tables_rows(empty_db, supabase_project):
    migrations = discover(supabase_project.migrations_dir).migrations
    migrate(empty_db, migrations)
    seed(empty_db, plan(load("phase3test.seeding.phase3")), seed=2, scale=1)
    before = snapshot(empty_db)
    survivors_before = row_checksums(empty_db, [t for t in before.objects["table"] if t.startswith("public.")])
    revert(empty_db, rollback_for(migrations[-1], supabase_project.rollbacks_dir))
    kept = [t for t in unchanged_tables(before, snapshot(empty_db)) if t.startswith("public.")]
    assert len(kept) > 40, "most tables are untouched by the newest rollback"
    assert row_checksums(empty_db, kept) == {t: survivors_before[t] for t in kept}
