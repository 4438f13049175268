"""The migrated Phase 3 schema as a whole: deny by default, and accepted by the real Supabase CLI."""

from __future__ import annotations

import re
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


CALLER = r"\( SELECT auth\.uid\(\) AS uid\)"
COLUMN = r"((?:\w+\.)?\w+)"


def columns_that_find_the_callers_rows(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """(table, column) each policy compares to the caller or joins on, as Postgres prints the policy."""
    found = set()
    policies = conn.execute(
        """select c.relname, concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
             from pg_policy p join pg_class c on c.oid = p.polrelid
            where c.relnamespace = 'public'::regnamespace"""
    ).fetchall()
    for table, expression in policies:
        aliases = {alias: name.split(".")[-1] for name, alias in re.findall(r"FROM (\w+(?:\.\w+)?) (\w+)", expression)}
        compared = re.findall(rf"{COLUMN} = {CALLER}", expression) + re.findall(rf"{CALLER} = {COLUMN}", expression)
        joined = [side for pair in re.findall(rf"{COLUMN} = {COLUMN}", expression) for side in pair if "." in side]
        for reference in compared + joined:
            owner, _, column = reference.rpartition(".")
            found.add((aliases.get(owner, owner) or table, column))
    return found


def unindexed(conn: psycopg.Connection, columns: set[tuple[str, str]]) -> list[str]:
    return sorted(
        f"public.{table}.{column}"
        for table, column in columns
        if conn.execute(
            """select not exists (select from pg_index i join pg_attribute a
                                         on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                                   where i.indrelid = to_regclass('public.' || %s) and a.attname = %s)""",
            (table, column),
        ).fetchone()[0]
    )


def test_every_column_a_policy_finds_the_callers_rows_by_leads_an_index(db):
    """What a policy compares to auth.uid() or joins on: without an index the caller's rows are found by reading
    every row. (Columns a policy only tests for a value, `not is_internal`, `role <> 'super_admin'`, are left to
    the table's other conditions: an index on a boolean would not be used.)"""
    columns = columns_that_find_the_callers_rows(db)
    assert {("bookings", "customer_id"), ("booking_notes", "booking_id"), ("bookings", "id")} <= columns
    assert unindexed(db, columns) == []
    db.execute("drop index public.bookings_customer_id_idx")  # the check catches a missing one
    assert unindexed(db, columns) == ["public.bookings.customer_id"]
