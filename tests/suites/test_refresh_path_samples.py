"""The refresh-path suite on the sample project plus two materialized views (counts per owner, and their total,
which reads the counts) and one refresh function declared as the entry point: written right it passes; in
place, in the wrong order, unguarded or refreshing nothing it fails naming what; undeclared, it skips and says
so. Each runs the suite in a pytest subprocess as a user's CI would."""

from __future__ import annotations

import pytest
from test_broken_samples import run_suite

pytestmark = pytest.mark.slow

SUITE = "test_refresh_path"
DECLARED = "--pg-refresh-functions=public.refresh_notes()"
VIEWS = """-- Notes per owner, and their total (which reads the counts).
create materialized view if not exists public.note_counts as
  select owner_id, count(*) as notes from public.notes group by owner_id;
create unique index if not exists note_counts_owner_id_key on public.note_counts (owner_id);
create materialized view if not exists public.note_totals as select sum(notes) as notes, 1 as k
  from public.note_counts;
create unique index if not exists note_totals_k_key on public.note_totals (k);
revoke all on public.note_counts, public.note_totals from anon, authenticated;
"""
GUARD = "  if not pg_try_advisory_xact_lock(42) then return 'skipped'; end if;\n"
COUNTS = "  refresh materialized view concurrently public.note_counts;\n"
TOTALS = "  refresh materialized view concurrently public.note_totals;\n"


def refresh_notes(body: str) -> dict[str, str]:
    """The sample's migrations plus the views and `public.refresh_notes()` with this body."""
    function = (
        "create or replace function public.refresh_notes() returns text language plpgsql as $$\n"
        f"begin\n{body}  return 'refreshed';\nend $$;\n"
        "revoke all on function public.refresh_notes() from public, anon, authenticated, service_role;\n"
    )
    return {
        "migrations/20240103000000_note_views.sql": VIEWS + function,
        "rollbacks/20240103000000_note_views.down.sql": "-- irreversible: a sample\n",
    }


def test_a_guarded_concurrent_refresh_in_dependency_order_passes(pytester, broken_project):
    broken_project(refresh_notes(GUARD + COUNTS + TOTALS))
    result = run_suite(pytester, SUITE, "-s", DECLARED)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*public.refresh_notes(): readers of public.note_counts (it takes ExclusiveLock): longest read * ms",
            "*public.refresh_notes(): 1 of 2 view(s) out of date before the call (rows deleted from public.notes)",
        ]
    )


CASES = {
    "refreshed in place": (
        GUARD + COUNTS.replace(" concurrently", "") + TOTALS,
        "test_readers_never_wait_on_the_locks_of_a_refresh_entry_point",
        "*public.refresh_notes() kept readers of public.note_counts waiting * ms on the AccessExclusiveLock it takes"
        " (over 100 ms): refresh it CONCURRENTLY",
    ),
    "in the wrong order": (
        GUARD + TOTALS + COUNTS,
        "test_after_the_data_changed_one_call_leaves_every_view_equal_to_its_definition",
        "*public.refresh_notes() left public.note_totals unlike its definition: it lacks 1 row(s) the definition"
        " gives and has 1 it does not; it reads public.note_counts: refresh that first",
    ),
    "without a guard": (
        COUNTS + TOTALS,
        "test_a_second_call_while_one_runs_neither_fails_nor_waits",
        "*public.refresh_notes(): a second call while one runs waited on its locks (ExclusiveLock on"
        " public.note_counts) until lock_timeout: guard it, e.g. return early unless pg_try_advisory_xact_lock(<key>)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refresh_entry_point_fails_naming_the_view_when_it_is(pytester, broken_project, case):
    body, failing, expected = CASES[case]
    broken_project(refresh_notes(body))
    result = run_suite(pytester, SUITE, DECLARED)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([f"*_ {failing} _*", expected])


def test_an_entry_point_that_refreshes_no_view_fails_every_test_naming_it(pytester, broken_project):
    broken_project(refresh_notes(""))
    result = run_suite(pytester, SUITE, DECLARED)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*the refresh entry point public.refresh_notes() refreshed no materialized view"])


def test_with_no_entry_point_declared_the_suite_skips_and_says_so(pytester, broken_project):
    broken_project(refresh_notes(GUARD + COUNTS + TOTALS))
    result = run_suite(pytester, SUITE)
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*no refresh entry point declared (refresh_functions)*"])
