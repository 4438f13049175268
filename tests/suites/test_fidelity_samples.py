"""Sample projects written the way real Supabase projects are (tests/samples/<name>), each run through the
suites in a pytest subprocess: what Supabase accepts passes, and the gate's findings on them are true ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_broken_samples import run_suite

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
