"""The access matrix with its results, as a table × role grid for the release's report.

Each access test records its cell (`record_property("access_cell", ...)`);
this plugin, registered on the controller only, collects them from every
xdist worker's reports and writes one Markdown page when the session ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from phase3test.access.matrix import EXECUTE, OPERATIONS
from phase3test.report.outcomes import failure_line

PROPERTY = "access_cell"
CODES = {"allow": "A", "own": "O", "deny": "-"}  # one character per operation in a grid cell
FAILED = "X"


@dataclass(eq=False)  # a plugin: pytest hashes it (a field-wise __eq__ would drop __hash__)
class AccessReport:
    """Collects cell outcomes; `pytest_sessionfinish` writes the grid to `path`."""

    path: Path
    cells: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)  # -> (expected, problem)
    roles: list[str] = field(default_factory=list)  # in the matrix's order

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, cell in report.user_properties:
            if name == PROPERTY and isinstance(cell, dict):
                self.cells[(cell["table"], cell["role"], cell["operation"])] = (cell["expected"], _problem(report))
                self.roles = self.roles or list(cell["roles"])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
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
        failed = {key: problem for key, (_, problem) in self.cells.items() if problem}
        lines = [
            f"{len(self.cells)} cells, {len(self.cells) - len(failed)} as declared, {len(failed)} not.",
            "Each table cell shows select, insert, update, delete and each function cell execute: `A` allow, "
            f"`O` own, `-` deny (as declared and found), `{FAILED}` found otherwise than declared (listed below).",
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
        return lines

    def _cell(self, name: str, role: str, operations: tuple[str, ...]) -> str:
        codes = []
        for operation in operations:
            expected, problem = self.cells.get((name, role, operation), ("", ""))
            codes.append(FAILED if problem else CODES.get(expected, "?"))
        return f"`{''.join(codes)}`"


def _problem(report: pytest.TestReport) -> str:
    """Nothing for a passing cell, else the first line of its failure."""
    return "" if report.passed else failure_line(report)
