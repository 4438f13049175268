"""The static guess beside the measurement: per statement, what squawk said of it and what the profile found.

squawk reads the SQL text and flags statements that can take a long lock; the profile measured how long the
lock was held on production-sized rows. Reviewers want the statements where the two disagree: squawk's
warning on a statement that held its lock for milliseconds (safe to accept with a reason), and a measured
finding squawk was silent on (the one that would have reached production).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phase3test.migrations.static import SquawkNote
from phase3test.profiling.measure import Profile, StatementCost
from phase3test.profiling.rules import Finding

BOTH, SQUAWK_ONLY, MEASURED_ONLY = "both", "squawk only", "measured only"


@dataclass(frozen=True)
class Comparison:
    """One statement squawk or the profile (or both) had something to say about."""

    line: int
    squawk: tuple[str, ...]  # `rule: message` for each of squawk's warnings on it
    measured: tuple[str, ...]  # the profile's rules it broke (accepted or not)
    summary: str  # what was measured: its time and the locks it took

    @property
    def agreement(self) -> str:
        if self.squawk and self.measured:
            return BOTH
        return SQUAWK_ONLY if self.squawk else MEASURED_ONLY

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "agreement": self.agreement,
            "squawk": list(self.squawk),
            "measured": list(self.measured),
            "summary": self.summary,
        }


def compare(measured: Profile, notes: Sequence[SquawkNote], found: Sequence[Finding]) -> list[Comparison]:
    """Each statement with a squawk note in its lines or a finding at its line, in file order. A note before
    the first statement (a comment) belongs to the first."""
    statements = measured.statements
    if not statements:
        return []
    ends = [cost.line for cost in statements[1:]] + [None]
    compared = []
    for cost, next_line in zip(statements, ends, strict=True):
        said = tuple(
            f"{note.rule}: {note.message}"
            for note in notes
            if (note.line >= cost.line or cost is statements[0]) and (next_line is None or note.line < next_line)
        )
        broke = tuple(sorted({finding.rule for finding in found if finding.line == cost.line}))
        if said or broke:
            compared.append(Comparison(cost.line, said, broke, _summary(measured, cost)))
    return compared


def _summary(measured: Profile, cost: StatementCost) -> str:
    """`412 ms (≈ 4,100 ms in production); AccessExclusiveLock on public.orders held 530 ms to commit`."""
    parts = [f"{cost.ms:,.0f} ms"]
    if cost.at_production is not None and cost.at_production.ms > cost.ms:
        parts[0] += f" (≈ {cost.at_production.ms:,.0f} ms in production)"
    for lock in measured.locks:
        if lock.line == cost.line and lock.blocks and lock.table not in measured.created:
            production = f", ≈ {lock.in_production:,.0f} ms in production" if lock.in_production else ""
            parts.append(f"{lock.mode} on {lock.table} held {lock.held_ms:,.0f} ms to commit{production}")
    return "; ".join(parts)
