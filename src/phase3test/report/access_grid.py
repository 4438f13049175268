"""The access matrix with its results, as a table × role grid for the release's report.

Each access test records its cell (`record_property("access_cell", ...)`);
this plugin, registered on the controller only, collects them from every
xdist worker's reports and writes one Markdown page when the session ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phase3test.access.matrix import EXECUTE, OPERATIONS
from phase3test.report.outcomes import UNCHECKED, UNCHECKED_PREFIX, failure_line, outcome_of, skip_reason

PROPERTY = "access_cell"
CODES = {"allow": "A", "own": "O", "deny": "-"}  # one character per operation in a grid cell
FAILED, NOT_CHECKED = "X", "?"


@dataclass(eq=False)  # a plugin: pytest hashes it (a field-wise __eq__ would drop __hash__)
class AccessReport:
    """Collects cell outcomes; `pytest_sessionfinish` writes the grid to `path`."""

    path: Path
    # (table, role, operation) -> (expected, problem, why it was not checked): "" where there is none
    cells: dict[tuple[str, str, str], tuple[str, str, str]] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)  # in the matrix's order

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, cell in report.user_properties:
            if name == PROPERTY and isinstance(cell, dict):
                unchecked = outcome_of(report) == UNCHECKED
                why = skip_reason(report).removeprefix(UNCHECKED_PREFIX) if unchecked else ""
                problem = "" if report.passed or unchecked else failure_line(report)
                self.cells[(cell["table"], cell["role"], cell["operation"])] = (cell["expected"], problem, why)
                self.roles = self.roles or list(cell["roles"])

    @classmethod
    def from_json(cls, path: Path, cells: list[dict[str, Any]], roles: list[str]) -> AccessReport:
        """The grid of report.json's cells (`access`, `access_roles`): what a merge of shards' reports writes."""
        found = {
            (c["table"], c["role"], c["operation"]): (c["expected"], c["problem"] or "", c.get("unchecked") or "")
            for c in cells
        }
        return cls(path, found, list(roles))

    def to_json(self) -> list[dict[str, Any]]:
        """The cells as report.json lists them, in order."""
        return [
            {
                "table": t,
                "role": r,
                "operation": o,
                "expected": e,
                "as_declared": None if u else not p,
                "problem": p,
                "unchecked": u or None,
            }
            for (t, r, o), (e, p, u) in sorted(self.cells.items())
        ]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.write()

    def write(self) -> None:
        if self.cells:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self.render(), encoding="utf-8")

    def render(self) -> str:
        return "\n".join(["# Access matrix: declared and tested", "", *self.body()]) + "\n"

    def body(self) -> list[str]:
        """The counts, the legend, the grids and what was found otherwise: the page without its title."""
        tables = sorted({name for name, _, op in self.cells if op != EXECUTE})
        functions = sorted({name for name, _, op in self.cells if op == EXECUTE})
        roles = [role for role in self.roles if any(r == role for _, r, _ in self.cells)]
        failed = {key: problem for key, (_, problem, _) in self.cells.items() if problem}
        unchecked = {key: why for key, (_, _, why) in self.cells.items() if why}
        lines = [
            f"{tallied(len(self.cells), len(failed), len(unchecked))}.",
            "Each table cell shows select, insert, update, delete and each function cell execute: `A` allow, "
            f"`O` own, `-` deny (as declared and found), `{FAILED}` found otherwise than declared, "
            f"`{NOT_CHECKED}` not checked: nothing to act on (both listed below).",
        ]
        for kind, names, operations in (("table", tables, OPERATIONS), ("function", functions, (EXECUTE,))):
            if names:
                lines += ["", f"| {kind} | " + " | ".join(roles) + " |", "| --- |" + " --- |" * len(roles)]
                for name in names:
                    cells = [self._cell(name, role, operations) for role in roles]
                    lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
        if failed:
            lines += ["", "## Found otherwise than declared", ""]
            lines += [f"- {problem}" for _cell, problem in sorted(failed.items())]
        if unchecked:
            lines += ["", "## Not checked: nothing to act on", ""]
            lines += [
                f"- {role} {operation} on `{table}`: {why}"
                for (table, role, operation), why in sorted(unchecked.items())
            ]
        return lines

    def _cell(self, name: str, role: str, operations: tuple[str, ...]) -> str:
        codes = []
        for operation in operations:
            expected, problem, why = self.cells.get((name, role, operation), ("", "", ""))
            codes.append(FAILED if problem else NOT_CHECKED if why else CODES.get(expected, NOT_CHECKED))
        return f"`{''.join(codes)}`"


def tallied(cells: int, differing: int, unchecked: int) -> str:
    """`2,088 cells, 3 not as declared, 12 unchecked`: the access matrix's headline in every report."""
    return f"{cells:,} cells, {differing} not as declared" + (f", {unchecked} unchecked" if unchecked else "")


def tally(cells: list[dict[str, object]]) -> str:
    """The headline of report.json's access cells."""
    differing = sum(1 for cell in cells if cell["as_declared"] is False)
    return tallied(len(cells), differing, sum(1 for cell in cells if cell.get("unchecked")))
