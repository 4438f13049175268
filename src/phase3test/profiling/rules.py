"""What a production team refuses in a measured migration, each finding with the statement, the table, how
long, and the usual fix.

Four rules, on tables that existed before the migration (nobody can wait
on a table it creates):
- a lock that blocks writers (SHARE or stronger) or readers (ACCESS
  EXCLUSIVE), taken with no `lock_timeout` in force: behind a long-running
  reader the migration queues for its lock, and every query on the table
  queues behind the migration;
- such a lock held longer than the budget (setting `max_lock_ms`);
- rows updated or deleted in one statement and kept locked until the file
  commits for longer than the budget (a backfill in one go): writers to any
  of them wait that long;
- readers of a table (a PostgREST page, from another connection while the
  migration ran) kept waiting longer than the budget.
The budget applies to each figure carried to production's rows
(`profiling/extrapolate.py`) when it was, else to the figure measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phase3test.profiling.measure import Profile, StatementCost
from phase3test.profiling.workload import READER

NO_TIMEOUT = ("0", "0ms", "0s")
# The usual way out, by what the statement does (checked in this order).
_FIXES = (
    (r"^\s*create\s+(unique\s+)?index\b", "build the index with `create index concurrently` (in a file of its own)"),
    (r"\b(foreign\s+key|references|check\s*\()", "add the constraint `not valid`, then `validate constraint` "
     "in a later statement (it takes a weaker lock)"),
    (r"\bset\s+not\s+null\b", "add a `check (col is not null) not valid` constraint, validate it, then "
     "`set not null` (PostgreSQL 12+ skips the scan)"),
    (r"\badd\s+column\b.*\bdefault\b", "add the column without a volatile default (or nullable), then fill it "
     "in batches"),
    (r"\balter\s+column\b.*\btype\b", "add a new column of the new type, backfill it in batches, then swap"),
    (r"^\s*(update|delete|insert)\b", "backfill in batches of a few thousand rows, each in its own transaction"),
)  # fmt: skip


LOCK_TIMEOUT, LOCK_BUDGET, ROWS_BUDGET, READERS_WAITED = "lock_timeout", "lock_budget", "rows_budget", "readers_waited"
RULES = (LOCK_TIMEOUT, LOCK_BUDGET, ROWS_BUDGET, READERS_WAITED)


@dataclass(frozen=True)
class Finding:
    migration: str
    line: int
    table: str
    message: str
    rule: str  # one of RULES: what a project accepts a finding by (profiling/accepted.py)

    def __str__(self) -> str:
        return f"{self.migration}:{self.line}: {self.message}"


def findings(measured: Profile, max_lock_ms: float) -> list[Finding]:
    """Every rule `measured` breaks, in the order of its statements."""
    found = []
    by_line = {cost.line: cost for cost in measured.statements}
    for cost in measured.statements:
        for table, mode in cost.locks:
            lock = next(held for held in measured.locks if (held.table, held.mode) == (table, mode))
            if table in measured.created or not lock.blocks or cost.lock_timeout not in NO_TIMEOUT:
                continue
            found.append(  # check: profile.lock_timeout
                Finding(measured.migration, cost.line, table,
                        f"takes {mode} on {table} (blocks {lock.blocks}) with no lock_timeout: behind a long "
                        f"query it would wait, and every query on {table} behind it; `set lock_timeout = '5s'` "
                        "(and retry) before it", LOCK_TIMEOUT)
            )  # fmt: skip
    for lock in measured.strongest().values():
        if lock.table in measured.created or not lock.blocks or lock.expected_ms <= max_lock_ms:
            continue
        cost = by_line[lock.line]
        found.append(  # check: profile.lock_budget
            Finding(measured.migration, lock.line, lock.table,
                    f"holds {lock.mode} on {lock.table} to commit for "
                    f"{_how_long(measured, lock.held_ms, lock.in_production, lock.line, lock.table)}, over the "
                    f"{max_lock_ms:,.0f} ms budget (max_lock_ms), blocking {lock.blocks}: {usual_fix(cost)}",
                    LOCK_BUDGET)
        )  # fmt: skip
    for cost in measured.statements:
        for table, rows in cost.rows_locked:
            if table in measured.created or cost.expected_held_ms <= max_lock_ms:
                continue
            found.append(  # check: profile.rows_budget
                Finding(measured.migration, cost.line, table,
                        f"locks {rows:,} rows of {table} to commit for "
                        f"{_how_long(measured, cost.held_ms, cost.held_in_production, cost.line, table)}, over the "
                        f"{max_lock_ms:,.0f} ms budget (max_lock_ms): writers to them wait until the file commits; "
                        f"{usual_fix(cost)}", ROWS_BUDGET)
            )  # fmt: skip
    strongest = measured.strongest()
    for wait in measured.waits:
        expected = wait.longest_ms if wait.expected_ms is None else wait.expected_ms
        if wait.kind != READER or not wait.waited_for or expected <= max_lock_ms:
            continue  # a slow read that waited on no lock was the machine's, not the migration's
        holder = strongest.get(wait.table)
        line = holder.line if holder else 0
        fix = usual_fix(by_line[line]) if line in by_line else "split the change"
        waited = ", ".join(sorted(wait.waited_for))
        carried = measured.production_rows.get(wait.table)
        production = f" (≈ {expected:,.0f} ms at {carried:,} rows)" if wait.expected_ms is not None and carried else ""
        found.append(  # check: profile.readers_waited
            Finding(measured.migration, line, wait.table,
                    f"kept readers of {wait.table} waiting {wait.longest_ms:,.0f} ms{production} (for {waited}), "
                    f"over the {max_lock_ms:,.0f} ms budget (max_lock_ms): {fix}", READERS_WAITED)
        )  # fmt: skip
    return sorted(found, key=lambda finding: finding.line)


def usual_fix(cost: StatementCost) -> str:
    """The rewrite that usually avoids the long lock, read from the statement."""
    text = cost.sql.lower()
    for pattern, fix in _FIXES:
        if re.search(pattern, text):
            return fix
    return "split the change so that the long part runs without a lock that blocks the API"


def _how_long(measured: Profile, held_ms: float, in_production: float | None, line: int, table: str) -> str:
    """`850 ms at 1,000,000 rows, ≈ 8,400 ms in production (line 2 grows linearly)`: the measured figure, and
    what it comes to at production's rows with how the slowest statement of the stretch grew."""
    seen = f"{held_ms:,.0f} ms at {measured.rows.get(table, 0):,} rows"
    estimates = [(c.line, c.at_production) for c in measured.statements if c.line >= line and c.at_production]
    if in_production is None or not estimates:
        return seen
    slowest, estimate = max(estimates, key=lambda pair: pair[1].ms)
    return f"{seen}, ≈ {in_production:,.0f} ms in production (line {slowest} {estimate.growth})"
