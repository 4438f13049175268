"""A migration's measured profile as plain data: what the gate suite records for the report (report.json's
`profiles`), so that the report, which runs in another process, draws the timeline without the objects.

Times are in ms from the file's first statement: a statement starts at `start_ms`, a lock is held from
`from_ms` to the file's end (`ms`), when it commits. Figures carried to production's rows sit beside the
measured ones (None where nothing was carried).
"""

from __future__ import annotations

from typing import Any

from phase3test.profiling.accepted import Verdict
from phase3test.profiling.beside_squawk import Comparison
from phase3test.profiling.measure import MODES, Profile
from phase3test.profiling.rules import Finding

SQL_SHOWN = 300  # characters of a statement kept: enough to recognise it beside its line number


def profile_to_json(measured: Profile, verdict: Verdict, comparison: list[Comparison] | None) -> dict[str, Any]:
    """`measured` with the rules' verdict on it and what squawk said of the same statements (None: squawk is not
    installed)."""
    return {
        "migration": measured.migration,
        "transactional": measured.transactional,
        "ms": round(measured.ms, 1),
        "rows": measured.rows,
        "production_rows": measured.production_rows,
        "growth": [
            {"table": g.table, "before": g.before, "after": g.after, "target": g.target, "short": g.short}
            for g in measured.growth
        ],
        "statements": [
            {
                "line": cost.line,
                "sql": cost.sql[:SQL_SHOWN],
                "start_ms": round(measured.ms - cost.held_ms, 1),
                "ms": round(cost.ms, 1),
                "production_ms": _rounded(cost.at_production.ms if cost.at_production else None),
                "growth": cost.at_production.growth if cost.at_production else None,
                "locks": [{"table": table, "mode": mode} for table, mode in cost.locks],
                "rewrote": list(cost.rewrote),
                "scanned": list(cost.scanned),
                "rows_locked": dict(cost.rows_locked),
                "lock_timeout": cost.lock_timeout,
            }
            for cost in measured.statements
        ],
        "locks": [
            {
                "table": lock.table,
                "mode": lock.mode,
                "rank": MODES.index(lock.mode),  # weakest 0 .. strongest 7 (AccessExclusiveLock)
                "line": lock.line,
                "from_ms": round(measured.ms - lock.held_ms, 1),
                "held_ms": round(lock.held_ms, 1),
                "production_ms": _rounded(lock.in_production),
                "blocks": lock.blocks,
                "created": lock.table in measured.created,
            }
            for lock in measured.locks
        ],
        "waits": [
            {
                "table": wait.table,
                "kind": wait.kind,
                "longest_ms": round(wait.longest_ms, 1),
                "waited_for": sorted(wait.waited_for),
                "production_ms": _rounded(wait.expected_ms),
            }
            for wait in measured.waits
        ],
        "findings": sorted(
            [_finding(f, None) for f in verdict.failing] + [_finding(f, entry.reason) for f, entry in verdict.accepted],
            key=lambda finding: finding["line"],
        ),
        "stale": [str(entry) for entry in verdict.stale],
        "squawk": None if comparison is None else [c.to_json() for c in comparison],
    }


def _finding(finding: Finding, accepted: str | None) -> dict[str, Any]:
    return {
        "line": finding.line,
        "table": finding.table,
        "rule": finding.rule,
        "message": finding.message,
        "accepted": accepted,  # the reason it is accepted with, or None: it fails
    }


def _rounded(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 1)
