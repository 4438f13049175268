"""The profile suite on the sample project plus one migration on its notes: an index built in place with no
lock_timeout fails naming the statement and the fix; its safe rewrite passes; an accepted finding passes and is
reported with its reason; an acceptance that finds nothing fails; an accepted list that does not load is one
setup error. Each runs the suite in a pytest subprocess as a user's CI would, at a small `profile_rows`."""

from __future__ import annotations

import json

import pytest
from test_broken_samples import run_suite

pytestmark = pytest.mark.slow

SUITE = "test_profile"
ROWS = "--pg-profile-rows=20000"
UNBOUNDED = "--pg-max-lock-ms=600000"
IN_PLACE = "create index notes_body_idx on public.notes (body);\n"
ROLLBACK = {"rollbacks/20240103000000_notes_body.down.sql": "drop index if exists public.notes_body_idx;\n"}


def index_migration(body: str) -> dict[str, str]:
    return {"migrations/20240103000000_notes_body.sql": "-- Notes searchable by body.\n" + body, **ROLLBACK}


def test_an_index_built_without_lock_timeout_fails_naming_the_statement_and_the_fix(pytester, broken_project):
    broken_project(index_migration(IN_PLACE))
    result = run_suite(pytester, SUITE, ROWS, "--pg-report-dir=reports")
    result.assert_outcomes(passed=3, failed=1)  # the accepted list loads; the two sample files pass
    result.stdout.fnmatch_lines(
        [
            "*20240103000000_notes_body.sql keeps production waiting (accept a finding with its reason in "
            "profile_accepted):",
            "*20240103000000_notes_body.sql:2: takes ShareLock on public.notes (blocks writers) with no lock_timeout*",
            "*  grew public.notes from 4 to 20,000 rows",
        ]
    )
    (profile,) = [p for p in report(pytester)["profiles"] if p["migration"] == "20240103000000_notes_body.sql"]
    assert [(f["line"], f["rule"], f["accepted"]) for f in profile["findings"]] == [(2, "lock_timeout", None)]
    (lock,) = [lock for lock in profile["locks"] if lock["table"] == "public.notes"]
    assert lock["mode"] == "ShareLock" and lock["blocks"] == "writers" and lock["line"] == 2
    assert profile["rows"]["public.notes"] == 20000


def test_the_safe_rewrite_passes_and_its_profile_is_reported(pytester, broken_project):
    broken_project(index_migration("set local lock_timeout = '5s';\n" + IN_PLACE))
    result = run_suite(pytester, SUITE, ROWS, "--pg-report-dir=reports")
    result.assert_outcomes(passed=4)
    profiles = {p["migration"]: p for p in report(pytester)["profiles"]}
    assert sorted(profiles) == [
        "20240101000000_notes.sql",
        "20240102000000_note_tags.sql",
        "20240103000000_notes_body.sql",
    ]
    index = profiles["20240103000000_notes_body.sql"]
    assert index["findings"] == [] and index["stale"] == []
    (build,) = [s for s in index["statements"] if s["sql"].startswith("create index")]
    assert build["line"] == 3 and {"table": "public.notes", "mode": "ShareLock"} in build["locks"]
    assert "public.notes" in build["scanned"] and build["production_ms"] is not None
    assert {w["kind"] for w in index["waits"] if w["table"] == "public.notes"} == {"readers", "writers"}
    markdown = (pytester.path / "reports/report.md").read_text()
    assert "## Lock profile at production's size" in markdown
    assert "| `20240103000000_notes_body.sql` |" in markdown
    assert "<svg class=timeline" in (pytester.path / "reports/report.html").read_text()


def test_an_accepted_finding_passes_with_its_reason_and_a_stale_acceptance_fails(pytester, broken_project):
    """About accepting, not the budget: one far above what a loaded machine's timings extrapolate to, so the
    only findings are those that do not depend on time."""
    broken_project(index_migration(IN_PLACE))
    accepted = pytester.path / "accepted.yaml"
    accepted.write_text("- {migration: '20240103000000', rule: lock_timeout, reason: runs before launch}\n")
    result = run_suite(pytester, SUITE, ROWS, UNBOUNDED, f"--pg-profile-accepted={accepted}", "--pg-report-dir=reports")
    result.assert_outcomes(passed=4)
    (profile,) = [p for p in report(pytester)["profiles"] if p["migration"] == "20240103000000_notes_body.sql"]
    assert [(f["rule"], f["accepted"]) for f in profile["findings"]] == [("lock_timeout", "runs before launch")]

    accepted.write_text(
        "- {migration: '20240103000000', rule: lock_timeout, reason: runs before launch}\n"
        "- {migration: '20240102000000', rule: lock_budget, reason: fixed since}\n"
    )
    stale = run_suite(pytester, SUITE, ROWS, UNBOUNDED, f"--pg-profile-accepted={accepted}")
    stale.assert_outcomes(passed=3, failed=1)
    stale.stdout.fnmatch_lines(
        ["*accepted.yaml accepts lock_budget in 20240102000000, which the profile no longer finds: remove it"]
    )


def test_an_accepted_list_that_does_not_load_is_one_setup_error(pytester, broken_project):
    broken_project(index_migration(IN_PLACE))
    accepted = pytester.path / "accepted.yaml"
    accepted.write_text("- {migration: '20240103000000', rule: lock_timout, reason: a typo}\n")
    result = run_suite(pytester, SUITE, ROWS, f"--pg-profile-accepted={accepted}", "--pg-report-dir=reports")
    result.assert_outcomes(failed=1, skipped=3)  # the three profiles are not run: the list decides them
    result.stdout.fnmatch_lines(["*entry 1: no rule 'lock_timout' (one of lock_timeout, *"])
    data = report(pytester)
    assert data["outcome"] == "error" and "lock_timout" in data["setup_errors"][0]


def report(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "reports/report.json").read_text())
