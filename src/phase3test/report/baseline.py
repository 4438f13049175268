"""What changed since a previous run's report (`--baseline previous.json`): the release-to-release view.

Newly failing checks, access cells whose declared value changed (a widening,
deny → own → allow, is flagged as such), schema objects added, removed or
altered (the catalog diff of the two snapshots), and materialized views
whose refresh got notably slower.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phase3test.errors import SetupError
from phase3test.inspection.catalog import Snapshot, diff

_RANK = {"deny": 0, "own": 1, "allow": 2}
SLOWER_FACTOR, SLOWER_MS = 1.5, 5.0  # slower means both: 1.5 times and 5 ms more


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SetupError(
            f"cannot read the baseline report {path}: {exc}", hint="pass a report.json of an earlier run"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != 1:
        raise SetupError(f"{path} is not a phase3test report (format 1)", hint="pass a report.json of an earlier run")
    return data


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    failed_before = {f["test"] for f in before.get("failures", [])}
    failed_after = {f["test"] for f in after.get("failures", [])}
    return {
        "baseline": {
            "finished_at": before.get("finished_at"),
            "phase3test": before.get("versions", {}).get("phase3test"),
            "schema_digest": before.get("schema", {}).get("digest"),
        },
        "newly_failing": sorted(failed_after - failed_before),
        "fixed": sorted(failed_before - failed_after),
        "access": _access_changes(before.get("access", []), after.get("access", [])),
        "schema": _schema_changes(before.get("schema", {}), after.get("schema", {})),
        "slower_refreshes": _slower(before.get("matviews", {}), after.get("matviews", {})),
    }


def _access_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(cell: dict[str, Any]) -> tuple[str, str, str]:
        return cell["table"], cell["role"], cell["operation"]

    old = {key(cell): cell["expected"] for cell in before}
    changes = []
    for cell in after:
        was, now = old.get(key(cell), "deny" if old else None), cell["expected"]
        if was is not None and was != now:
            changes.append(
                {"table": cell["table"], "role": cell["role"], "operation": cell["operation"], "before": was,
                 "after": now, "widened": _RANK[now] > _RANK[was]}
            )  # fmt: skip
    return sorted(changes, key=lambda c: (not c["widened"], c["table"], c["role"], c["operation"]))


def _schema_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if before.get("digest") == after.get("digest") or "snapshot" not in before or "snapshot" not in after:
        return []
    return diff(Snapshot.from_json(before["snapshot"]), Snapshot.from_json(after["snapshot"]))


def _slower(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    slower = []
    for view, figures in sorted(after.items()):
        was, now = before.get(view, {}).get("refresh_ms"), figures.get("refresh_ms")
        if was and now and now > was * SLOWER_FACTOR and now - was > SLOWER_MS:
            slower.append({"view": view, "before_ms": was, "after_ms": now})
    return slower


@dataclass(frozen=True)
class ChangeItem:
    """One line of the comparison: `{lead}{code}{tail}`, where `code` is a name to set in code type."""

    kind: str  # widened, narrowed, failing, fixed, schema, slower: what the line is, for styling
    lead: str
    code: str
    tail: str = ""


def items(changes: dict[str, Any]) -> list[ChangeItem]:
    """The comparison, widenings first: what the Markdown and the HTML report both list."""
    listed = [
        ChangeItem(
            "widened" if cell["widened"] else "narrowed",
            f"{'WIDENED' if cell['widened'] else 'narrowed'} access: {cell['role']} {cell['operation']} on ",
            cell["table"],
            f": {cell['before']} -> {cell['after']}",
        )
        for cell in changes["access"]
    ]
    listed += [ChangeItem("failing", "newly failing: ", test) for test in changes["newly_failing"]]
    listed += [ChangeItem("fixed", "fixed: ", test) for test in changes["fixed"]]
    listed += [ChangeItem("schema", "schema: ", line) for line in changes["schema"]]
    listed += [
        ChangeItem("slower", "slower refresh: ", s["view"], f" {s['before_ms']:.1f} -> {s['after_ms']:.1f} ms")
        for s in changes["slower_refreshes"]
    ]
    return listed


def markdown(changes: dict[str, Any]) -> list[str]:
    """The comparison as Markdown lines; widenings first and in capitals."""
    lines = ["", f"## Since the baseline ({changes['baseline']['finished_at']})", ""]
    for item in items(changes):
        lead = item.lead.replace("WIDENED", "**WIDENED**", 1) if item.kind == "widened" else item.lead
        lines.append(f"- {lead}`{item.code}`{item.tail}")
    if len(lines) == 3:
        lines.append("- nothing changed")
    return lines
