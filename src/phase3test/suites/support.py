"""What the suites share: what an access cell with no rows to act on becomes."""

from __future__ import annotations

import pytest

from phase3test.access.matrix import Cell
from phase3test.access.probes import Verdict
from phase3test.report.outcomes import UNCHECKED_PREFIX


def unless_nothing_to_act_on(verdict: Verdict, cell: Cell, require_rows: bool) -> None:
    """A cell whose table has no rows cannot be checked: unchecked (listed and counted in the report, not
    passed), or a failure where the project requires rows for every cell (`require_rows`)."""
    if not verdict.nothing_to_act_on:
        return
    assert not require_rows, (  # check: access.rows_required
        f"{cell.role} {cell.operation} on {cell.table}: {verdict.nothing_to_act_on} (require_rows is set)"
    )
    pytest.skip(f"{UNCHECKED_PREFIX}{verdict.nothing_to_act_on}")
