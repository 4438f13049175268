"""Gate: the project's own supabase/migrations apply, and the Supabase CLI agrees.

Runs on whatever `phase3test_supabase_dir` names (the repository's supabase/),
so it is the first check of every migration pull request.
"""

from __future__ import annotations

import pytest

from phase3test.migrations.discovery import discover
from phase3test.supabase.cli import find_cli, migration_list


def test_every_migration_applies_and_is_recorded(fresh_db, supabase_project):
    expected = [(m.version, m.name) for m in discover(supabase_project.migrations_dir).migrations]
    recorded = fresh_db.execute(
        "select version, name from supabase_migrations.schema_migrations order by version"
    ).fetchall()
    assert recorded == expected


def test_supabase_cli_lists_every_migration_as_applied(fresh_db, pg_server, supabase_project):
    cli = find_cli(supabase_project.root.parent)
    if cli is None:
        pytest.skip("Supabase CLI not installed (run `npm ci`)")
    rows = migration_list(
        cli, supabase_project.root.parent, pg_server.conninfo(fresh_db.info.dbname) + "?sslmode=disable"
    )
    expected = {m.version: m.version for m in discover(supabase_project.migrations_dir).migrations}
    assert rows == expected
