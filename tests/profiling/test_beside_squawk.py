"""squawk's notes beside the measurement, on a real table of 300,000 rows (fix_tables.gadgets) and the real
squawk: a statement both flag, one only squawk flags (a new table, nobody waits on it), and one only the
measurement finds (a backfill squawk has no rule for)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase3test.migrations.discovery import discover
from phase3test.migrations.static import find_squawk, squawk_notes
from phase3test.profiling.beside_squawk import BOTH, MEASURED_ONLY, SQUAWK_ONLY, compare
from phase3test.profiling.measure import profile
from phase3test.profiling.rules import findings

pytestmark = pytest.mark.skipif(find_squawk() is None, reason="squawk is not installed (pip install squawk-cli)")

BUDGET_MS = 10.0  # what the in-place index build and the full backfill exceed on 300,000 rows (test_rules.py)
MIGRATION = """-- Gadgets by weight.
set local lock_timeout = '5s';
create index gadgets_weight_idx on public.gadgets (weight);
create table public.gadget_notes (id int primary key, body text);
update public.gadgets
   set weight = weight + 1;
"""


def test_each_statement_shows_what_squawk_said_beside_what_was_measured(gadgets, tmp_path: Path):
    (tmp_path / "20261201000000_gadgets.sql").write_text(MIGRATION)
    (migration,) = discover(tmp_path).migrations
    notes = squawk_notes(find_squawk() or "", migration, tmp_path)
    measured = profile(gadgets, migration)
    found = findings(measured, BUDGET_MS)
    compared = {c.line: c for c in compare(measured, notes, found)}

    index = compared[3]  # squawk: build it concurrently; measured: ShareLock held to commit past the budget
    assert index.agreement == BOTH and "lock_budget" in index.measured
    assert any(said.startswith("require-concurrent-index-creation: ") for said in index.squawk)
    assert "ShareLock on public.gadgets held " in index.summary

    table = compared[4]  # squawk prefers bigint to int; measured: a new table, which nobody can wait on
    assert table.agreement == SQUAWK_ONLY and table.measured == ()
    assert any(said.startswith("prefer-bigint-over-int: ") for said in table.squawk)

    backfill = compared[5]  # one statement over every row: squawk has no rule for it, the measurement does
    assert backfill.agreement == MEASURED_ONLY and backfill.squawk == ()
    assert "rows_budget" in backfill.measured
