"""An inferred access matrix written as a draft to review: every cell explicit, each with what decides it.

A reviewer reads the file, not the database: each cell says the grant or
the policies behind it, and a cell the probe could not confirm says why, so
the decisions that need a human are the ones marked. Denials are written out
too (`deny`), because a missing line is what a reviewer overlooks.
"""

from __future__ import annotations

import json
from datetime import date

from phase3test.access.inference import Inferred, InferredCell
from phase3test.access.matrix import OPERATIONS


def render(inferred: Inferred, source: str) -> str:
    """The matrix file's text; `source` says what it was inferred from (for the header)."""
    lines = [
        f"# DRAFT access matrix, inferred by `phase3test init` on {date.today().isoformat()} from {source}.",
        "# Each cell is what the database does today, not what it should do: review every one, fix the",
        "# migrations where they differ, then delete these DRAFT lines. Cells marked UNCONFIRMED could not be",
        "# probed (no seed data to act on, a call that needs real arguments): decide and seed them.",
        "# Format: docs/testing.md, 'The access matrix'.",
        "roles:",
    ]
    for role in inferred.roles.values():
        users = f", users: {json.dumps(role.users)}" if role.users else ""
        lines.append(f"  {role.name}: {{api_role: {role.api_role}{users}}}")
    lines += ["", "tables:"]
    for table in inferred.tables:
        lines.append(f"  {table.name}:")
        if table.own:
            lines.append("    own:")
            lines += [f"      {op}: {json.dumps(predicate)}" for op, predicate in table.own.items()]
        for operation in OPERATIONS:
            lines.append(f"    {operation}:")
            lines += _cells({role: cell for (op, role), cell in table.cells.items() if op == operation}, 6)
    lines += ["", "functions:" if inferred.functions else "functions: {}"]
    for function in inferred.functions:
        lines += [f"  {json.dumps(function.signature)}:", f"    call: {json.dumps(function.call)}", "    execute:"]
        lines += _cells(function.cells, 6)
    return "\n".join(lines) + "\n"


def _cells(cells: dict[str, InferredCell], indent: int) -> list[str]:
    return [f"{' ' * indent}{role}: {cell.value}  # {cell.why}" for role, cell in cells.items()]


def unconfirmed(inferred: Inferred) -> int:
    """How many cells the probe could not confirm."""
    return sum(cell.unconfirmed for *_, cell in inferred.cells())
