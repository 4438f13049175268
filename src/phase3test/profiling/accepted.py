"""Profile findings a project accepts, each with its reason (the `profile_accepted` setting, a YAML list).

A finding is real however old its migration: a project that cannot fix it
yet (the file has shipped, the fix is planned) says so once, in review,
instead of switching the profile off. An entry names the migration (file
name or version), the rule and why; a line or a table narrows it. Accepted
findings are still printed and reported, marked accepted with the reason;
an entry that accepts nothing the profile finds is stale and fails, so the
list shrinks as fixes land.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from phase3test.errors import SetupError
from phase3test.profiling.rules import RULES, Finding
from phase3test.profiling.scale import qualified


@dataclass(frozen=True)
class Accepted:
    migration: str  # file name or version
    rule: str
    reason: str
    line: int | None = None
    table: str | None = None

    def covers(self, finding: Finding) -> bool:
        return (
            _same_file(self.migration, finding.migration)
            and finding.rule == self.rule
            and self.line in (None, finding.line)
            and (self.table is None or qualified(self.table) == finding.table)
        )

    def __str__(self) -> str:
        narrowed = "".join(f" {k} {v}" for k, v in (("line", self.line), ("table", self.table)) if v is not None)
        return f"{self.rule} in {self.migration}{narrowed}"


@dataclass(frozen=True)
class Verdict:
    """The findings split by the accepted list, and the entries that accept nothing."""

    failing: list[Finding]
    accepted: list[tuple[Finding, Accepted]]
    stale: list[Accepted]


def load_accepted(path: Path) -> list[Accepted]:
    """The entries of `path`; each needs a migration, a known rule and a reason, or the file is refused."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read the accepted profile findings {path}: {exc}") from exc
    if not isinstance(data, list):
        raise SetupError(f"{path}: expected a list of {{migration, rule, reason}} entries (line, table optional)")
    accepted, problems = [], []
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), str) and entry[key].strip() for key in ("migration", "rule", "reason")
        ):
            problems.append(f"entry {number}: needs migration, rule and a reason, got {entry!r}")
        elif entry["rule"] not in RULES:
            problems.append(f"entry {number}: no rule {entry['rule']!r} (one of {', '.join(RULES)})")
        elif unknown := sorted(set(entry) - {"migration", "rule", "reason", "line", "table"}):
            problems.append(f"entry {number}: unknown key(s) {', '.join(unknown)}")
        elif not isinstance(entry.get("line", 0), int):
            problems.append(f"entry {number}: line must be a number, got {entry['line']!r}")
        else:
            line, table = entry.get("line"), entry.get("table")
            accepted.append(Accepted(entry["migration"], entry["rule"], entry["reason"], line, table))
    if problems:
        raise SetupError(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return accepted


def judge(found: list[Finding], accepted: list[Accepted], profiled: set[str]) -> Verdict:
    """Split `found` by `accepted`; an entry is stale when its migration was profiled and it covers nothing
    (entries for migrations not profiled this time are left alone)."""
    failing, taken = [], []
    for finding in found:
        entry = next((a for a in accepted if a.covers(finding)), None)
        if entry is None:
            failing.append(finding)
        else:
            taken.append((finding, entry))
    stale: list[Accepted] = []
    for entry in accepted:
        if any(_same_file(entry.migration, name) for name in profiled) and not any(entry.covers(f) for f in found):
            stale.append(entry)  # check: profile.stale_acceptance
    return Verdict(failing, taken, stale)


def _same_file(wanted: str, name: str) -> bool:
    """`wanted` (a file name, with or without .sql, or a version) names the migration file `name`."""
    return name in (wanted, f"{wanted}.sql") or name.split("_", 1)[0] == wanted
