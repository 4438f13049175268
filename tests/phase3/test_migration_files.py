"""Each Phase 3 migration: idempotent, reversible exactly, and clean to lint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phase3test.catalog import assert_same, snapshot
from phase3test.migrations import FILE_RULE, apply, migrate, revert, rollback_for

REPO = Path(__file__).resolve().parents[2]
SQUAWK = shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")


def test_applying_a_second_time_raises_nothing_and_changes_no_schema(migration, empty_db, migrations_before):
    migrate(empty_db, [*migrations_before(migration), migration])
    once = snapshot(empty_db)
    with empty_db.transaction():
        empty_db.execute(migration.text)
    assert_same(once, snapshot(empty_db), f"{migration.path.name} applied a second time")


def test_rollback_restores_the_schema_exactly(migration, empty_db, migrations_before, supabase_project):
    migrate(empty_db, migrations_before(migration))
    before = snapshot(empty_db)
    apply(empty_db, migration)
    after = snapshot(empty_db)
    rollback = rollback_for(migration, supabase_project.rollbacks_dir)
    if rollback.irreversible:
        pytest.skip(f"declared irreversible: {rollback.irreversible}")
    revert(empty_db, rollback)
    assert_same(before, snapshot(empty_db), f"after rolling back {migration.path.name}")
    apply(empty_db, migration)
    assert_same(after, snapshot(empty_db), f"after re-applying {migration.path.name}")


def test_has_a_rollback_or_declares_why_not(migration, supabase_project):
    rollback = rollback_for(migration, supabase_project.rollbacks_dir)
    assert not rollback.missing, f"add {rollback.expected_path} (or `-- irreversible: <reason>` in it)"


def test_file_name_follows_the_supabase_cli_rule(migration):
    assert FILE_RULE.match(migration.path.name)
    assert len(migration.version) == 14, "versions are UTC timestamps YYYYMMDDHHMMSS"


@pytest.mark.skipif(SQUAWK is None, reason="squawk-cli is not installed (a dev dependency)")
def test_squawk_is_clean(migration):
    result = subprocess.run(
        [str(SQUAWK), "--config", str(REPO / ".squawk.toml"), "--reporter", "gcc", str(migration.path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
