"""`phase3test profile` on the notes sample: the new migration measured on the seed data, rolled back to the
version before it, each statement with what it locked, and the lock each table kept until commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fix_projects import PHASE3TEST
from limits import SUBPROCESS_TIMEOUT


def run_profile(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PHASE3TEST, "profile", *args],
        cwd=project,
        env={**os.environ, "PHASE3TEST_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


def test_the_profile_names_each_statement_and_the_lock_each_table_kept(tmp_path, notes_project, home):
    project = notes_project(tmp_path / "project")
    (project / "supabase/migrations/20240103000000_index.sql").write_text(
        "set local lock_timeout = '5s';\ncreate index notes_body_idx on public.notes (body);\n"
    )
    (project / "supabase/rollbacks/20240103000000_index.down.sql").write_text("drop index public.notes_body_idx;\n")
    result = run_profile(project, home, "20240103000000_index.sql", "--rows=20000", "--pg-max-lock-ms=60000")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("20240103000000_index.sql: ") and lines[0].endswith(" ms, in one transaction")
    assert lines[1] == "  grew public.notes from 4 to 20,000 rows"
    assert "create index notes_body_idx on public.notes (body)  (takes ShareLock on public.notes;" in lines[3]
    assert "reads public.notes in full)" in lines[3]
    held = [line for line in lines if line.lstrip().startswith("held")]
    assert len(held) == 1 and "ShareLock on public.notes (20,000 rows), from line 2, blocks writers" in held[0]
    statement = lines[4].lstrip()  # the build carried to production's rows, and how it grew
    assert statement.startswith("in production ≈ ") and " ms at 200,000 rows (" in statement
    assert lines[lines.index(held[0]) + 1].lstrip().startswith("in production ≈ ")


def test_without_a_name_every_file_after_the_history_is_profiled_and_an_unknown_one_is_refused(
    tmp_path, notes_project, home
):
    project = notes_project(tmp_path / "project")
    (project / "phase3test.toml").write_text('adopted_at = "20240101000000"\n')
    result = run_profile(project, home)
    assert result.returncode == 0, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines() if not line.startswith(" ")] == [
        "20240102000000_note_tags.sql"
    ]
    refused = run_profile(project, home, "20991231000000_nothing.sql")
    assert refused.returncode == 2 and "no such migration: 20991231000000_nothing.sql" in refused.stderr


def test_a_migration_that_breaks_a_rule_fails_the_profile_naming_it(tmp_path, notes_project, home):
    project = notes_project(tmp_path / "project")
    (project / "supabase/migrations/20240103000000_index.sql").write_text(
        "create index notes_body_idx on public.notes (body);\n"
    )
    (project / "supabase/rollbacks/20240103000000_index.down.sql").write_text("drop index public.notes_body_idx;\n")
    result = run_profile(project, home, "20240103000000", "--pg-max-lock-ms=60000", "--rows=20000")
    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert len(failures) == 1 and failures[0].startswith(
        "FAIL 20240103000000_index.sql:1: takes ShareLock on public.notes (blocks writers) with no lock_timeout"
    )


def test_the_budget_applies_at_production_row_counts_extrapolated_from_two_scales(tmp_path, notes_project, home):
    """30-odd ms at 100,000 rows passes a budget of 1 s; the same index build at 100M rows does not."""
    project = notes_project(tmp_path / "project")
    (project / "supabase/migrations/20240103000000_index.sql").write_text(
        "set local lock_timeout = '5s';\ncreate index notes_body_idx on public.notes (body);\n"
    )
    (project / "supabase/rollbacks/20240103000000_index.down.sql").write_text("drop index public.notes_body_idx;\n")
    measured = ["20240103000000", "--rows=100000"]
    small = run_profile(project, home, *measured, "--pg-production-rows=public.notes=100000")
    assert small.returncode == 0, small.stdout + small.stderr
    big = run_profile(project, home, *measured, "--pg-production-rows=notes=100000000")
    assert big.returncode == 1, big.stdout + big.stderr
    (failure,) = [line for line in big.stdout.splitlines() if line.startswith("FAIL ")]
    assert failure.startswith("FAIL 20240103000000_index.sql:2: holds ShareLock on public.notes to commit for ")
    assert " ms at 100,000 rows, ≈ " in failure and " ms in production (line 2 grows " in failure


def test_an_accepted_finding_is_printed_with_its_reason_and_a_stale_acceptance_fails(tmp_path, notes_project, home):
    project = notes_project(tmp_path / "project")
    (project / "supabase/migrations/20240103000000_index.sql").write_text(
        "create index notes_body_idx on public.notes (body);\n"
    )
    (project / "supabase/rollbacks/20240103000000_index.down.sql").write_text("drop index public.notes_body_idx;\n")
    accepted = project / "accepted.yaml"
    accepted.write_text("- {migration: '20240103000000', rule: lock_timeout, reason: runs before launch}\n")
    measured = ["20240103000000", "--rows=20000", "--pg-max-lock-ms=60000", f"--pg-profile-accepted={accepted}"]
    result = run_profile(project, home, *measured)
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("accepted ")]
    assert line.startswith("accepted 20240103000000_index.sql:1: takes ShareLock") and line.endswith(
        "[runs before launch]"
    )
    accepted.write_text(
        "- {migration: 20240103000000_index.sql, rule: lock_timeout, reason: runs before launch}\n"
        "- {migration: '20240103000000', rule: lock_budget, table: notes, reason: fixed since}\n"
    )
    stale = run_profile(project, home, *measured)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert [line for line in stale.stdout.splitlines() if line.startswith(("FAIL", "STALE"))] == [
        f"STALE {accepted}: accepts lock_budget in 20240103000000 table notes, which the profile no longer finds: "
        "remove it"
    ]
    accepted.write_text("- {migration: '20240103000000', rule: lock_wait, reason: typo}\n")
    refused = run_profile(project, home, *measured)
    assert refused.returncode == 2 and "entry 1: no rule 'lock_wait'" in refused.stderr


def test_a_statement_that_reads_no_rows_is_carried_to_production_as_measured(tmp_path, notes_project, home):
    """A policy rebuilt, then a pause under its lock: no row read, so 100M rows in production change nothing."""
    project = notes_project(tmp_path / "project")
    (project / "supabase/migrations/20240103000000_policy.sql").write_text(
        "set local lock_timeout = '5s';\n"
        "drop policy if exists notes_select_own on public.notes;\n"
        "create policy notes_select_own on public.notes for select to authenticated\n"
        "  using ((select auth.uid()) = owner_id);\n"
        "select pg_sleep(0.2);\n"
    )
    (project / "supabase/rollbacks/20240103000000_policy.down.sql").write_text("select 1;\n")
    result = run_profile(project, home, "20240103000000", "--rows=20000", "--pg-production-rows=notes=100000000")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    (pause,) = [n for n, line in enumerate(lines) if "select pg_sleep(0.2)" in line]
    assert "(reads no rows, so it does not grow with them: " in lines[pause + 1]
    (held,) = [n for n, line in enumerate(lines) if line.lstrip().startswith("held") and "AccessExclusiveLock" in line]
    production = int(lines[held + 1].split("≈ ")[1].split(" ms")[0].replace(",", ""))
    assert 200 <= production < 1000  # as measured, not a hundred thousand times it
