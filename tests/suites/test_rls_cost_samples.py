"""The rls_cost suite on the sample project: a notes policy that calls auth.uid() for every row, with the index
on owner_id dropped, fails naming the read, the policy and the cause; the sample's own policy passes at the
same thresholds, and every read is in the report (the HTML grid's ratios: tests/report/test_report_in_a_browser.py).
Each runs the suite in a pytest subprocess at 40,000 notes (half of them each writer's: the scan keeps as many
rows as it drops, so the cost is the per-row call)."""

from __future__ import annotations

import json

import pytest
from test_broken_samples import run_suite

pytestmark = pytest.mark.slow

SUITE = "test_rls_cost"
SCALE = ("--pg-rls-cost-rows=40000", "--pg-rls-cost-max-ratio=3", "--pg-rls-cost-min-ms=1")
SLOW_POLICY = {
    "migrations/20240103000000_notes_slow_read.sql": (
        "-- Notes read through auth.uid() called per row, with no index on owner_id.\n"
        "set local lock_timeout = '5s';\n"
        "drop index if exists public.notes_owner_id_idx;\n"
        "drop policy if exists notes_select_own on public.notes;\n"
        "create policy notes_select_own on public.notes for select to authenticated using (auth.uid() = owner_id);\n"
    ),
    "rollbacks/20240103000000_notes_slow_read.down.sql": (
        "set local lock_timeout = '5s';\n"
        "create index if not exists notes_owner_id_idx on public.notes (owner_id);\n"
        "drop policy if exists notes_select_own on public.notes;\n"
        "create policy notes_select_own on public.notes\n"
        "  for select to authenticated using ((select auth.uid()) = owner_id);\n"
    ),
}


def test_a_slow_policy_fails_naming_the_read_the_policy_and_the_causes(pytester, broken_project):
    broken_project(SLOW_POLICY)
    result = run_suite(pytester, SUITE, *SCALE)
    result.assert_outcomes(passed=1, failed=1)  # note_tags' reads stay cheap
    result.stdout.fnmatch_lines(
        [
            "*reads over 3 times service_role's (rls_cost_max_ratio), at least 1 ms more (rls_cost_min_ms):",
            "*writer count on public.notes (40,000 rows): * ms against * ms as service_role (x*); policies "
            "notes_select_own: calls auth.uid() once per row: wrap it as (select auth.uid()) so it runs once*",
        ]
    )


def test_the_samples_own_policy_passes_and_every_read_is_reported(pytester, broken_project):
    broken_project({})
    result = run_suite(pytester, SUITE, *SCALE, "--pg-report-dir=reports")
    result.assert_outcomes(passed=2)
    costs = json.loads((pytester.path / "reports/report.json").read_text())["rls_cost"]
    assert sorted((c["table"], c["role"], c["read"]) for c in costs) == [
        ("public.note_tags", "writer", "count"),
        ("public.note_tags", "writer", "own page"),
        ("public.note_tags", "writer", "page"),
        ("public.notes", "writer", "count"),
        ("public.notes", "writer", "own page"),
        ("public.notes", "writer", "page"),
    ]
    notes = [c for c in costs if c["table"] == "public.notes"]
    assert all(c["rows"] == 40000 and c["policies"] == ["notes_select_own"] and not c["causes"] for c in notes)
    assert "## RLS cost: 6 reads, the slowest against service_role" in (pytester.path / "reports/report.md").read_text()
