"""The migrated Phase 3 schema as a whole: deny by default, and accepted by the real Supabase CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from phase3test.migrations.discovery import discover
from phase3test.supabase import advisors
from phase3test.supabase.cli import find_cli, migration_list
from phase3test.supabase.cli import run as supabase


def public_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "select c.oid::regclass::text from pg_class c"
        " where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def test_no_policy_lets_anon_or_public_in(db):
    open_doors = db.execute(
        """select policyname || ' on ' || schemaname || '.' || tablename from pg_policies
            where schemaname = 'public' and roles && array['anon', 'public']::name[] order by 1"""
    ).fetchall()
    assert open_doors == []


def test_every_public_table_has_test_rows(rows):
    """So the anon checks below read real rows: a new table needs a row in tests/phase3/rows/."""
    empty = [t for t in public_tables(rows) if rows.execute(f"select not exists (select from {t})").fetchone()[0]]
    assert empty == []


def test_anon_reads_nothing_from_any_public_table(rows, as_role):
    tables = public_tables(rows)
    as_role(rows, "anon")
    readable = []
    for table in tables:
        try:
            with rows.transaction():
                if rows.execute(f"select count(*) from {table}").fetchone()[0]:
                    readable.append(table)
        except psycopg.errors.InsufficientPrivilege:
            pass
    assert readable == []


def test_anon_cannot_insert_anywhere(db, as_role):
    tables = public_tables(db)
    as_role(db, "anon")
    accepted = []
    for table in tables:
        try:
            with db.transaction():
                db.execute(f"insert into {table} default values")
            accepted.append(table)
        except psycopg.errors.InsufficientPrivilege:
            pass
    assert accepted == []


def test_supabase_db_push_applies_every_file(empty_db, pg_server, supabase_project, tmp_path):
    cli = find_cli(Path(__file__).resolve().parents[2])
    if cli is None:
        pytest.skip("Supabase CLI not installed (run `npm ci`)")
    project = tmp_path / "project"
    shutil.copytree(supabase_project.root, project / "supabase", ignore=shutil.ignore_patterns(".temp"))
    url = pg_server.conninfo(empty_db.info.dbname) + "?sslmode=disable"
    supabase(cli, project, "db", "push", "--yes", "--db-url", url)
    expected = {m.version: m.version for m in discover(supabase_project.migrations_dir).migrations}
    assert migration_list(cli, project, url) == expected


def test_supabase_advisors_find_no_overlapping_policies_and_no_unindexed_foreign_key(db, pg_server, supabase_project):
    """One permissive policy per table, role and operation; an index under every foreign key (advisors' WARNs)."""
    cli = find_cli(Path(__file__).resolve().parents[2])
    if cli is None:
        pytest.skip("Supabase CLI not installed (run `npm ci`)")
    url = pg_server.conninfo(db.info.dbname) + "?sslmode=disable"
    found = advisors.run(cli, supabase_project.root.parent, url)
    watched = [lint.line() for lint in found if lint.name in ("multiple_permissive_policies", "unindexed_foreign_keys")]
    assert watched == []
    assert any(lint.name == "unused_index" for lint in found)  # the advisors did run and report
