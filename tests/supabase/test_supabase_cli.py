"""The real Supabase CLI (npm `supabase`, pinned in package.json) agrees with our runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phase3test.migrations.discovery import discover
from phase3test.migrations.runner import migrate
from phase3test.supabase.cli import find_cli, migration_list
from phase3test.supabase.cli import run as cli_run

CLI = find_cli(Path(__file__).resolve().parents[2])

pytestmark = pytest.mark.skipif(CLI is None, reason="Supabase CLI not installed (run `npm ci` in the repository)")


@pytest.fixture
def project_copy(sample_project: Path, tmp_path: Path) -> Path:
    """The CLI writes supabase/.temp into the project: give it a copy."""
    target = tmp_path / "project"
    shutil.copytree(sample_project / "supabase", target / "supabase")
    return target


def supabase(project: Path, *args: str) -> str:
    assert CLI is not None
    return cli_run(CLI, project, *args)


def db_url(pg_server, conn) -> str:
    return pg_server.conninfo(conn.info.dbname) + "?sslmode=disable"


def test_migration_list_shows_every_file_we_applied(empty_db, pg_server, project_copy):
    migrations = discover(project_copy / "supabase" / "migrations").migrations
    migrate(empty_db, migrations)
    rows = migration_list(CLI, project_copy, db_url(pg_server, empty_db))
    assert rows == {m.version: m.version for m in migrations}


def test_migration_list_shows_unapplied_files_as_pending(empty_db, pg_server, project_copy):
    migrations = discover(project_copy / "supabase" / "migrations").migrations
    migrate(empty_db, migrations[:1])
    rows = migration_list(CLI, project_copy, db_url(pg_server, empty_db))
    assert rows == {migrations[0].version: migrations[0].version, migrations[1].version: ""}


def test_db_push_sees_nothing_to_do_after_our_runner(empty_db, pg_server, project_copy):
    migrate(empty_db, discover(project_copy / "supabase" / "migrations").migrations)
    output = supabase(project_copy, "db", "push", "--dry-run", "--db-url", db_url(pg_server, empty_db))
    assert "up to date" in output.lower()


def test_our_runner_accepts_history_written_by_db_push(empty_db, pg_server, project_copy):
    supabase(project_copy, "db", "push", "--yes", "--db-url", db_url(pg_server, empty_db))
    migrations = discover(project_copy / "supabase" / "migrations").migrations
    assert migrate(empty_db, migrations) == [], "files pushed by the CLI must count as applied"
    pushed = empty_db.execute(
        "select version, statements from supabase_migrations.schema_migrations order by version"
    ).fetchall()
    assert [v for v, _ in pushed] == [m.version for m in migrations]


def test_db_reset_keeps_the_supabase_schemas_and_applies_every_file(empty_db, pg_server, project_copy):
    """`db reset --db-url` drops schemas not owned by supabase_admin: auth and storage must survive it."""
    supabase(project_copy, "db", "reset", "--yes", "--db-url", db_url(pg_server, empty_db))
    migrations = discover(project_copy / "supabase" / "migrations").migrations
    assert migrate(empty_db, migrations) == []
    present = empty_db.execute(
        "select to_regclass('auth.users') is not null, to_regclass('storage.objects') is not null,"
        " to_regclass('public.notes') is not null"
    ).fetchone()
    assert present == (True, True, True)
