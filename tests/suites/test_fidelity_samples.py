"""Sample projects written the way real Supabase projects are (tests/samples/<name>), each run through the
suites in a pytest subprocess: what Supabase accepts passes, and the gate's findings on them are true ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT
from test_broken_samples import run_suite
from test_pgtap import needs_pgtap

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def sample(pytester: pytest.Pytester, home: Path):
    """`sample(name)`: a copy of tests/samples/<name> as pytester's project."""

    def copy(name: str) -> Path:
        shutil.copytree(SAMPLES / name, pytester.path, dirs_exist_ok=True)
        return pytester.path

    return copy


def test_migrations_numbered_as_drizzle_kit_does_pass_with_a_warning(pytester, sample):
    sample("numbered")
    result = run_suite(pytester, "test_static", "-k", "file_names or rollback or row_level")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines_random(
        [
            "*0000_lists.sql: version 0000 is not a 14-digit UTC timestamp (YYYYMMDDHHMMSS);"
            " the Supabase CLI accepts it and orders files by name*",
            "*0001_items.sql: version 0001 is not a 14-digit UTC timestamp*",
        ]
    )


@needs_pgtap
def test_pgtap_files_that_switch_roles_pass_after_public_loses_execute(pytester, sample):
    sample("pgtap_roles")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "supabase/tests", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1)


@needs_pgtap
def test_a_pgtap_file_that_dies_names_the_statement_and_the_last_assertion(pytester, sample):
    project = sample("pgtap_roles")
    (project / "supabase/tests/dies.test.sql").write_text(
        "begin;\nselect plan(2);\nselect ok(true, 'the truth holds');\n"
        "select ok(count(*) = 0, 'no lists') from public.lists;\nrollback;\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "supabase/tests", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            '*dies.test.sql:4:1: ERROR 42P01: relation "public.lists" does not exist'
            " (after assertion 1 - the truth holds)",
            "*select ok(count(*) = 0, 'no lists') from public.lists",
        ]
    )
    assert "During handling of the above exception" not in result.stdout.str()
