"""The report plugins in a project laid out as most are, with its own tests/conftest.py."""

from __future__ import annotations

import pytest
from limits import SUBPROCESS_TIMEOUT

pytestmark = pytest.mark.slow


def test_a_project_with_its_own_conftest_gets_its_reports_without_xdist(pytester, broken_project):
    """pytest hashes every plugin when a conftest does not apply to a test's folder (the project's
    tests/conftest.py, for the shipped suites): an unhashable report plugin was an INTERNALERROR."""
    project = broken_project({})
    (project / "tests").mkdir()
    (project / "tests/conftest.py").write_text("")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "-k", "file_names", "--pg-report-dir", "reports",
        "--pg-access-report", "access.md", "--pyargs", "phase3test.suites.test_static", timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1)
    assert (project / "reports/report.json").exists()
