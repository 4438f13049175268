"""The Phase 3 project's own checks that matter, each fed a broken copy of the project: the storage bucket's
privacy and the dashboard's refresh path. Each runs the project's test in a pytest subprocess, with the
project's supabase/ folder plus one migration that breaks what the check guards; the framework's refresh_path
suite runs on the same broken refresh function."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BROKEN = "20251201000000_broken.sql"
REFRESH = """create or replace function private.refresh_dashboard_views()
returns text language plpgsql security definer set search_path = '' as $$
begin
{body}
  return 'refreshed';
end
$$;
"""
IN_ORDER = ["mv_dashboard_kpis", "mv_revenue_trends", "mv_booking_trends", "mv_equipment_utilization",
            "mv_alert_candidates"]  # fmt: skip


def refreshes(views: list[str], lock: bool, in_place: tuple[str, ...] = ()) -> str:
    """The dashboard's refresh function refreshing `views` in that order, with or without its advisory lock,
    those `in_place` without CONCURRENTLY."""
    body = (
        ["  if not pg_catalog.pg_try_advisory_xact_lock(20251111000100) then return 'skipped'; end if;"] if lock else []
    )
    body += [
        f"  refresh materialized view {'' if view in in_place else 'concurrently '}public.{view};" for view in views
    ]
    return REFRESH.format(body="\n".join(body))


WRONG_ORDER = [view for view in IN_ORDER if view != "mv_equipment_utilization"] + ["mv_equipment_utilization"]


def run_broken(
    tmp_path: Path, home: Path, migration: str, test: str, name: str = BROKEN
) -> subprocess.CompletedProcess[str]:
    """`test` (a Phase 3 test id) on the project plus `migration` (file `name`), in a pytest subprocess."""
    project = tmp_path / "supabase"
    shutil.copytree(REPO / "supabase", project, ignore=shutil.ignore_patterns(".temp", "tests"))
    (project / "migrations" / name).write_text(f"-- A broken sample.\n{migration}")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
               f"--supabase-dir={project}", test]  # fmt: skip
    env = {**os.environ, "PHASE3TEST_HOME": str(home)}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)


def test_the_bucket_privacy_check_fails_on_a_public_bucket(tmp_path, home):
    result = run_broken(
        tmp_path,
        home,
        "update storage.buckets set public = true where id = 'equipment-media';\n",
        "tests/phase3/test_equipment.py::test_the_bucket_is_private_and_takes_only_images_and_video_up_to_a_limit",
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "assert True is False" in result.stdout


def test_the_refresh_check_fails_when_a_view_is_refreshed_before_one_it_reads(tmp_path, home):
    result = run_broken(
        tmp_path, home, refreshes(WRONG_ORDER, lock=True),
        "tests/phase3/test_dashboard.py::test_refresh_function_brings_every_view_up_to_date",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    assert "At index 0 diff: ('payment_failed',) != ('idle_equipment',)" in result.stdout


def test_the_refresh_check_fails_when_a_second_caller_waits_instead_of_skipping(tmp_path, home):
    result = run_broken(
        tmp_path, home, refreshes(IN_ORDER, lock=False),
        "tests/phase3/test_dashboard.py::test_a_second_concurrent_refresh_returns_skipped_without_refreshing",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    assert "LockNotAvailable: canceling statement due to lock timeout" in result.stdout


# The framework's refresh_path suite on the same broken function, the call pyproject.toml declares.
REFRESH_PATH_CASES = {
    "refreshed in place": (
        refreshes(IN_ORDER, lock=True, in_place=("mv_booking_trends",)),
        "private.refresh_dashboard_views() kept readers of public.mv_booking_trends waiting * ms on the "
        "AccessExclusiveLock it takes (over 100 ms): refresh it CONCURRENTLY",
    ),
    "without its advisory lock": (
        refreshes(IN_ORDER, lock=False),
        "private.refresh_dashboard_views(): a second call while one runs waited on its locks (ExclusiveLock on "
        "public.mv_dashboard_kpis) until lock_timeout*",
    ),
    "in the wrong order": (
        refreshes(WRONG_ORDER, lock=True),
        "private.refresh_dashboard_views() left public.mv_alert_candidates unlike its definition: * it reads "
        "public.mv_equipment_utilization: refresh that first",
    ),
}


@pytest.mark.parametrize("case", list(REFRESH_PATH_CASES))
def test_the_refresh_path_suite_fails_on_the_dashboard_refresh_when_it_is(tmp_path, home, case):
    migration, expected = REFRESH_PATH_CASES[case]
    result = run_broken(tmp_path, home, migration, "src/phase3test/suites/test_refresh_path.py")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 failed, 2 passed" in result.stdout
    assert any(fnmatch.fnmatch(line, f"E * {expected}") for line in result.stdout.splitlines()), result.stdout[-3000:]


REVOKED = "revoke select, insert on public.financial_ledger from authenticated;\n"
LAST = "20991231000000_broken.sql"  # after every file, the grants included


def test_the_access_suite_fails_where_a_table_lost_its_grant(tmp_path, home):
    """Under today's Supabase defaults a table without its grant refuses a signed-in user before RLS is read:
    the access matrix names the cells, and the grants test the table."""
    result = run_broken(
        tmp_path, home, REVOKED,
        "tests/phase3/test_grants.py::test_authenticated_is_granted_exactly_what_the_policies_of_each_table_allow",
        LAST,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    assert "public.financial_ledger: policies allow select, insert; granted nothing" in result.stdout
    cells = run_broken(
        tmp_path / "cells", home, REVOKED,
        "src/phase3test/suites/test_access.py::test_access_matches_the_matrix[public.financial_ledger-finance-select]",
        LAST,
    )  # fmt: skip
    assert cells.returncode == 1, cells.stdout[-3000:]
    assert (
        "finance select on public.financial_ledger: expected allow, but reading is refused (no privilege); "
        "authenticated holds no SELECT privilege on public.financial_ledger"
    ) in cells.stdout
