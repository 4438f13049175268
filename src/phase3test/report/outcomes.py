"""What one test's report says: its outcome (passed, failed, unchecked, not run, skipped) and its message, whole.

"Not run" is a skip that names a failure reported elsewhere: when the chain
of migrations does not apply, one test fails with the error and every test
that needed the migrated database is skipped with a reason starting
`not run: `. Counting those apart from skips keeps the report honest: a
hundred tests did not pass, but there is one thing to fix. "Unchecked" is a
skip for want of data (`unchecked: `): an access cell whose table has no
rows to act on, which a project may require instead (`require_rows`).
"""

from __future__ import annotations

import re

import pytest

PASSED, FAILED, UNCHECKED, NOT_RUN, SKIPPED = "passed", "failed", "unchecked", "not run", "skipped"
OUTCOMES = (PASSED, FAILED, UNCHECKED, NOT_RUN, SKIPPED)  # in the order reports list them
ALWAYS_SHOWN = (PASSED, FAILED, SKIPPED)  # the others are counted when there are any
NOT_RUN_PREFIX, UNCHECKED_PREFIX = f"{NOT_RUN}: ", f"{UNCHECKED}: "
_ASSERTION, _FAILED = "AssertionError: ", "Failed: "
_OWN_ERROR = re.compile(r"^phase3test(\.\w+)+: ")  # our errors' messages are written for users: no class name


def outcome_of(report: pytest.TestReport) -> str:
    """passed, failed, skipped, or the kind of skip its reason announces: not run, unchecked."""
    if report.skipped:
        reason = skip_reason(report)
        return next((kind for kind in (NOT_RUN, UNCHECKED) if reason.startswith(f"{kind}: ")), SKIPPED)
    return report.outcome


def skip_reason(report: pytest.TestReport) -> str:
    """Why a test was skipped, without pytest's "Skipped: " prefix."""
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def failure_message(report: pytest.TestReport) -> str:
    """Everything the failing check said (a list of twenty files stays twenty lines), without pytest's or our
    exceptions' class names or pytest's re-evaluation of the assert that follows a message."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(getattr(crash, "message", "") or report.longreprtext or "failed").strip() or "failed"
    if text.startswith(_ASSERTION):
        first, *rest = text.removeprefix(_ASSERTION).splitlines()
        explanation = next((i for i, line in enumerate(rest) if line.startswith("assert ")), len(rest))
        # pytest indents a message's further lines by two spaces
        return "\n".join([first, *(line.removeprefix("  ") for line in rest[:explanation])])
    return _OWN_ERROR.sub("", text.removeprefix(_FAILED), count=1)


def failure_line(report: pytest.TestReport) -> str:
    """The first line of what made a test fail (two when the first announces a list): where one line fits."""
    lines = failure_message(report).splitlines()
    return " ".join(line.strip() for line in lines[:2]) if lines[0].endswith(":") else lines[0]


def counted(totals: dict[str, int], zeros: bool = True) -> str:
    """`12 passed, 1 failed, 40 not run, 3 skipped`: passed, failed and skipped even when 0 (unless `zeros` is
    False), the others when any."""
    shown = [outcome for outcome in OUTCOMES if totals.get(outcome) or (zeros and outcome in ALWAYS_SHOWN)]
    return ", ".join(f"{totals.get(outcome, 0):,} {outcome}" for outcome in shown)
