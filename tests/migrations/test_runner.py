"""The migration runner on a real, bootstrapped database."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from phase3test.migrations.discovery import discover
from phase3test.migrations.history import MigrationDriftError
from phase3test.migrations.runner import MigrationError, migrate

NOTES = """\
create table public.notes (
  id bigint generated always as identity primary key,
  body text not null
);
alter table public.notes enable row level security;
"""
TAGS = "create table public.tags (note_id bigint references public.notes (id), tag text);\n"


def folder_with(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def history(conn: psycopg.Connection) -> list[tuple[str, str, list[str]]]:
    return conn.execute(
        "select version, name, statements from supabase_migrations.schema_migrations order by version"
    ).fetchall()


def table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def test_applies_in_order_and_records_history_like_the_cli(empty_db, tmp_path):
    folder = folder_with(tmp_path, {"20240101000000_notes.sql": NOTES, "20240102000000_tags.sql": TAGS})
    applied = migrate(empty_db, discover(folder).migrations)
    assert [m.name for m in applied] == ["notes", "tags"]
    assert table_exists(empty_db, "public.tags")
    rows = history(empty_db)
    assert [(v, n) for v, n, _ in rows] == [("20240101000000", "notes"), ("20240102000000", "tags")]
    assert rows[0][2] == [
        "create table public.notes (\n  id bigint generated always as identity primary key,\n  body text not null\n)",
        "alter table public.notes enable row level security",
    ]


def test_second_run_is_a_no_op(empty_db, tmp_path):
    migrations = discover(folder_with(tmp_path, {"20240101000000_notes.sql": NOTES})).migrations
    migrate(empty_db, migrations)
    assert migrate(empty_db, migrations) == []
    assert len(history(empty_db)) == 1


def test_failing_file_names_file_line_column_statement_and_leaves_nothing(empty_db, tmp_path):
    broken = "create table public.a (x int);\n\ncreate policy p on public.missing\n  for select using (true);\n"
    folder = folder_with(tmp_path, {"20240101000000_notes.sql": NOTES, "20240102000000_broken.sql": broken})
    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, discover(folder).migrations)
    error = caught.value
    assert (Path(error.path).name, error.line, error.column) == ("20240102000000_broken.sql", 3, 1)
    assert error.sqlstate == "42P01"
    assert 'relation "public.missing" does not exist' in error.message
    rendered = str(error)
    assert "20240102000000_broken.sql:3:1: ERROR 42P01" in rendered
    assert "create policy p on public.missing" in rendered
    assert "rolled back; migrations before it stay applied" in rendered
    assert table_exists(empty_db, "public.notes"), "the earlier file must stay applied"
    assert not table_exists(empty_db, "public.a"), "the failing file must leave nothing behind"
    assert [v for v, _, _ in history(empty_db)] == ["20240101000000"]


def test_error_position_inside_a_statement_becomes_line_and_column(empty_db, tmp_path):
    broken = "create table public.t (x int);\ncreate view public.v as\n  select x, nosuch from public.t;\n"
    folder = folder_with(tmp_path, {"20240101000000_view.sql": broken})
    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, discover(folder).migrations)
    assert (caught.value.line, caught.value.column, caught.value.sqlstate) == (3, 13, "42703")


def test_runtime_error_without_position_points_at_the_statement(empty_db, tmp_path):
    broken = (
        "create table public.u (x int unique);\ninsert into public.u values (1);\ninsert into public.u values (1);\n"
    )
    folder = folder_with(tmp_path, {"20240101000000_dupes.sql": broken})
    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, discover(folder).migrations)
    assert (caught.value.line, caught.value.column, caught.value.sqlstate) == (3, 1, "23505")
    assert caught.value.statement == "insert into public.u values (1)"
    assert not table_exists(empty_db, "public.u")


def test_syntax_error_is_reported_by_the_server_with_its_position(empty_db, tmp_path):
    broken = "create table public.ok (x int);\n-- a comment\ncreate tabel public.bad (x int);\n"
    folder = folder_with(tmp_path, {"20240101000000_typo.sql": broken})
    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, discover(folder).migrations)
    assert (caught.value.line, caught.value.column, caught.value.sqlstate) == (3, 8, "42601")
    assert caught.value.statement == "create tabel public.bad (x int);"
    assert not table_exists(empty_db, "public.ok")


def test_error_inside_a_do_block_carries_plpgsql_context(empty_db, tmp_path):
    broken = "do $$\nbegin\n  perform 1 / 0;\nend\n$$;\n"
    folder = folder_with(tmp_path, {"20240101000000_div.sql": broken})
    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, discover(folder).migrations)
    assert caught.value.sqlstate == "22012"
    assert "PL/pgSQL" in (caught.value.context or "")


def test_edited_after_apply_is_reported_with_both_checksums(empty_db, tmp_path):
    folder = folder_with(tmp_path, {"20240101000000_notes.sql": NOTES})
    first = discover(folder).migrations
    migrate(empty_db, first)
    (folder / "20240101000000_notes.sql").write_text(NOTES + "-- tweak\n")
    edited = discover(folder).migrations
    with pytest.raises(MigrationDriftError) as caught:
        migrate(empty_db, edited)
    message = str(caught.value)
    assert "20240101000000_notes.sql was edited after it was applied" in message
    assert first[0].checksum[:12] in message and edited[0].checksum[:12] in message


def test_applied_version_missing_on_disk_is_reported(empty_db, tmp_path):
    folder = folder_with(tmp_path, {"20240101000000_notes.sql": NOTES})
    migrate(empty_db, discover(folder).migrations)
    (folder / "20240101000000_notes.sql").unlink()
    with pytest.raises(MigrationDriftError, match=r"version 20240101000000 is applied .* has no file"):
        migrate(empty_db, discover(folder).migrations)


def test_new_file_older_than_the_last_applied_is_refused(empty_db, tmp_path):
    folder = folder_with(tmp_path, {"20240102000000_notes.sql": NOTES})
    migrate(empty_db, discover(folder).migrations)
    folder_with(tmp_path, {"20240101000000_tags.sql": "select 1;"})
    with pytest.raises(MigrationDriftError, match=r"20240101000000_tags\.sql would be inserted before"):
        migrate(empty_db, discover(folder).migrations)


def test_concurrent_index_file_runs_outside_a_transaction(empty_db, tmp_path):
    folder = folder_with(
        tmp_path,
        {
            "20240101000000_notes.sql": NOTES,
            "20240102000000_index.sql": "create index concurrently notes_body_idx on public.notes (body);\n",
        },
    )
    migrate(empty_db, discover(folder).migrations)
    assert table_exists(empty_db, "public.notes_body_idx")
    assert [v for v, _, _ in history(empty_db)] == ["20240101000000", "20240102000000"]


def test_non_transactional_failure_says_earlier_statements_stay(empty_db, tmp_path):
    broken = "create table public.kept (x int);\ncreate index concurrently i on public.nowhere (x);\n"
    folder = folder_with(tmp_path, {"20240101000000_mixed.sql": broken})
    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, discover(folder).migrations)
    assert not caught.value.transactional
    assert "ran outside a transaction" in str(caught.value)
    assert table_exists(empty_db, "public.kept")
    assert history(empty_db) == []


def test_percent_signs_are_not_placeholders(empty_db, tmp_path):
    folder = folder_with(tmp_path, {"20240101000000_pct.sql": "create table public.p (x text default '100%');\n"})
    migrate(empty_db, discover(folder).migrations)
    assert table_exists(empty_db, "public.p")


def test_needs_an_autocommit_connection(pg_server, tmp_path):
    with psycopg.connect(pg_server.dsn) as conn, pytest.raises(ValueError, match="autocommit"):
        migrate(conn, [])
