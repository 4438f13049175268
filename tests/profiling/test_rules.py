"""The rules a measured migration must keep, on a real table of 300,000 rows (fix_tables.gadgets): each
unsafe form fails naming the statement, the table and the usual fix; its safe rewrite passes. The budget is
10 ms here, what the unsafe forms exceed on this many rows and the safe ones stay far below (the default is
1 s)."""

from __future__ import annotations

import pytest

from phase3test.profiling.rules import findings

BUDGET_MS = 10.0
TIMEOUT = "set local lock_timeout = '5s';\n"
CASES = {
    "index in place": (
        "create index gadgets_weight_idx on public.gadgets (weight);",
        "`create index concurrently`",
        "create index concurrently gadgets_weight_idx2 on public.gadgets (weight);",
    ),
    "volatile default": (
        "alter table public.gadgets add column seen timestamptz default clock_timestamp();",
        "without a volatile default",
        "alter table public.gadgets add column seen2 timestamptz;",
    ),
    "constraint validated in place": (
        "alter table public.gadgets add constraint light check (weight < 5000);",
        "`not valid`, then `validate constraint`",
        "alter table public.gadgets add constraint light2 check (weight < 5000) not valid;",
    ),
    "backfill in one statement": (
        "update public.gadgets set weight = weight + 1;",
        "in batches",
        "update public.gadgets set weight = weight + 1 where id <= 10;",
    ),
}


@pytest.mark.parametrize(("unsafe", "fix", "safe"), CASES.values(), ids=CASES.keys())
def test_each_unsafe_change_fails_naming_its_statement_and_fix_and_its_rewrite_passes(
    gadgets, measured, unsafe, fix, safe
):
    found = findings(measured(gadgets, TIMEOUT + unsafe + "\n"), BUDGET_MS)
    assert [(f.line, f.table) for f in found] == [(2, "public.gadgets")], [str(f) for f in found]
    assert "over the 10 ms budget (max_lock_ms)" in found[0].message and fix in found[0].message
    assert str(found[0]).startswith("20261201000000_change.sql:2: ")
    assert findings(measured(gadgets, TIMEOUT + safe + "\n", "20261201000001"), BUDGET_MS) == []


def test_a_lock_that_blocks_the_api_taken_without_lock_timeout_fails(gadgets, measured):
    found = findings(measured(gadgets, "alter table public.gadgets add column grams int;\n"), 60_000)
    assert [f.line for f in found] == [1]
    assert "takes AccessExclusiveLock on public.gadgets (blocks readers and writers) with no lock_timeout" in (
        found[0].message
    )
    safe = TIMEOUT + "alter table public.gadgets add column kilos int;\n"
    assert findings(measured(gadgets, safe, "20261201000001"), 60_000) == []


def test_a_table_the_migration_creates_keeps_nobody_waiting(gadgets, measured):
    sql = "create table public.widgets (id int primary key);\ncreate index on public.widgets (id);\n"
    assert findings(measured(gadgets, sql), BUDGET_MS) == []
