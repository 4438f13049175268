"""The catalog snapshot and its diff on real databases."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from phase3test.cli import main
from phase3test.inspection.catalog import Snapshot, assert_same, default_schemas, diff, snapshot
from phase3test.migrations.history import HISTORY_DDL

BASE = """
create schema private;
create table public.bookings (
  id bigint generated always as identity primary key,
  status text not null default 'pending',
  note text
);
create table private.secrets (id int);
create view public.v as select id from public.bookings;
create materialized view public.mv as select 1 as x with no data;
create type public.status as enum ('a', 'b');
create sequence public.s;
create function private.f(p uuid) returns uuid language sql as $$ select p $$;
create function private.touch() returns trigger language plpgsql as $$ begin return new; end $$;
"""


@pytest.fixture
def conn(empty_db: psycopg.Connection) -> psycopg.Connection:
    empty_db.execute(BASE)
    return empty_db


def changes(conn: psycopg.Connection, sql: str) -> list[str]:
    before = snapshot(conn)
    conn.execute(sql)
    return diff(before, snapshot(conn))


def test_same_database_twice_is_equal_and_survives_json(conn):
    first, second = snapshot(conn), snapshot(conn)
    assert first == second
    assert first.digest() == second.digest()
    assert diff(first, second) == []
    restored = Snapshot.from_json(json.loads(json.dumps(first.to_json())))
    assert restored == first
    assert restored.digest() == first.digest()


def test_default_schemas_cover_supabase_and_skip_system_and_history(conn):
    conn.execute(HISTORY_DDL)
    schemas = default_schemas(conn)
    assert {"public", "private", "auth", "storage", "extensions"} <= set(schemas)
    assert not {"pg_catalog", "information_schema", "pg_toast", "supabase_migrations"} & set(schemas)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "alter table public.bookings add column kind text default 'x'",
            "+ column public.bookings.kind text default 'x'::text",
        ),
        (
            "alter table public.bookings alter column status set default 'draft'",
            "~ column public.bookings.status default: 'pending'::text -> 'draft'::text",
        ),
        (
            "alter table public.bookings alter column status drop not null",
            "~ column public.bookings.status not null: true -> false",
        ),
        (
            "create index bookings_status_idx on public.bookings (status)",
            "+ index public.bookings_status_idx: "
            "CREATE INDEX bookings_status_idx ON public.bookings USING btree (status)",
        ),
        ("alter table public.bookings enable row level security", "~ table public.bookings rls enabled: false -> true"),
        (
            "create policy insert_own on public.bookings for insert to authenticated with check (true)",
            "+ policy insert_own on public.bookings to authenticated (INSERT)",
        ),
        (
            "create or replace function private.f(p uuid) returns uuid language sql as $$ select coalesce(p, p) $$",
            "~ function private.f(uuid) body changed",
        ),
        (
            "alter function private.f(uuid) set search_path = ''",
            '~ function private.f(uuid) config: (none) -> search_path=""',
        ),
        (
            "create trigger bookings_touch before update on public.bookings "
            "for each row execute function private.touch()",
            "+ trigger bookings_touch on public.bookings",
        ),
        (
            "create or replace view public.v as select id, status from public.bookings",
            "~ view public.v definition: SELECT bookings.id FROM public.bookings; "
            "-> SELECT bookings.id, bookings.status FROM public.bookings;",
        ),
        ("grant select on private.secrets to anon", "+ grant SELECT on private.secrets to anon"),
        ("alter type public.status add value 'c'", "+ enum value public.status.'c'"),
        ("alter sequence public.s increment by 5", "~ sequence public.s increment: 1 -> 5"),
        (
            "insert into storage.buckets (id, name, public) values ('avatars', 'avatars', true)",
            "+ bucket avatars (public)",
        ),
    ],
)
def test_each_change_is_one_clear_line(conn, sql, expected):
    assert changes(conn, sql) == [expected]


def test_a_new_table_is_one_line_summarising_its_children(conn):
    lines = changes(conn, "create table public.booking_notes (id bigint primary key, body text)")
    assert len(lines) == 1, lines
    assert lines[0].startswith("+ table public.booking_notes (2 columns, 1 constraint, 1 index, "), lines
    assert lines[0].endswith(" grants)")


def test_a_dropped_table_takes_its_identity_sequence_and_grants_along(conn):
    lines = changes(conn, "drop view public.v; drop table public.bookings")
    assert lines[0].startswith("- table public.bookings (3 columns, 1 constraint, 1 index, 1 sequence, ")
    assert lines[1].startswith("- view public.v (")
    assert len(lines) == 2, lines


def test_extension_is_one_line_without_its_functions(conn):
    row = conn.execute(
        """select name from pg_available_extensions
            where installed_version is null and name in ('pg_trgm', 'citext', 'hstore', 'btree_gist')
            order by name limit 1"""
    ).fetchone()
    if row is None:
        pytest.skip("no optional extension available on this server")
    lines = changes(conn, f"create extension {row[0]} with schema extensions")
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"+ extension {row[0]} ") and lines[0].endswith(" in extensions")


def test_dropping_and_re_adding_a_column_leaves_no_trace_of_attnums(conn):
    before = snapshot(conn)
    conn.execute("alter table public.bookings add column extra int")
    with_extra = snapshot(conn)
    conn.execute("alter table public.bookings drop column extra")
    assert_same(before, snapshot(conn), "after dropping the column again")
    conn.execute("alter table public.bookings add column extra int")
    assert_same(with_extra, snapshot(conn), "after re-adding it")


def test_a_different_column_order_is_reported(conn):
    lines = changes(conn, "alter table public.bookings drop column status; alter table public.bookings add status text")
    assert "~ table public.bookings columns order: id, status, note -> id, note, status" in lines
    assert "~ column public.bookings.status not null: true -> false" in lines


def test_history_data_and_populated_materialized_views_are_not_schema(conn):
    before = snapshot(conn)
    conn.execute(HISTORY_DDL)
    conn.execute("insert into supabase_migrations.schema_migrations (version, name) values ('1', 'x')")
    conn.execute("insert into public.bookings (status) values ('a'), ('b')")
    conn.execute("select nextval('public.s')")
    conn.execute("refresh materialized view public.mv")
    assert_same(before, snapshot(conn))


def test_assert_same_fails_with_the_diff(conn):
    before = snapshot(conn)
    conn.execute("create index bookings_note_idx on public.bookings (note)")
    with pytest.raises(AssertionError) as caught:
        assert_same(before, snapshot(conn), context="after rollback")
    assert str(caught.value) == (
        "after rollback: the schema changed (1 difference(s)):\n"
        "  + index public.bookings_note_idx: CREATE INDEX bookings_note_idx ON public.bookings USING btree (note)"
    )


def test_explicit_schemas_limit_the_snapshot(conn):
    taken = snapshot(conn, schemas=["private"])
    assert set(taken.objects["table"]) == {"private.secrets"}
    assert set(taken.objects["schema"]) == {"private"}
    assert taken.objects["bucket"] == {}


@pytest.mark.unseeded
def test_two_clones_of_the_migrated_template_are_equal_and_quick_to_read(fresh_db, db):
    assert_same(snapshot(fresh_db), snapshot(db), "two clones of p3t_migrated")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        taken = snapshot(fresh_db)
        timings.append(time.perf_counter() - started)
    assert len(taken.objects["table"]) > 50
    assert min(timings) < 1.0, timings


def test_snapshot_command_writes_the_databases_snapshot(empty_db, pg_server, tmp_path, capsys):
    out = tmp_path / "snap.json"
    assert main(["snapshot", "--db-url", pg_server.conninfo(empty_db.info.dbname), "--out", str(out)]) == 0
    written = Snapshot.from_json(json.loads(out.read_text()))
    assert written == snapshot(empty_db)
    assert written.digest()[:16] in capsys.readouterr().out


def test_snapshot_command_with_an_unreachable_database_is_a_setup_error(tmp_path, capsys):
    assert main(["snapshot", "--db-url", "postgresql://postgres@127.0.0.1:1/none", "--out", str(tmp_path / "x")]) == 2
    assert "cannot connect to the database" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
