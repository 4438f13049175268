"""What two gate reports must agree on to be the same run (the merged shards' and one whole run's): every test's
outcome, every access cell, every failure, skip and finding; never timings, which no two runs share."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

TIMED = {"finished_at", "elapsed_s", "shard", "shards"}


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """report.json without its timings: the tests' outcomes, the figures' subjects (which view, which read,
    which migration was profiled)."""
    same = {key: value for key, value in report.items() if key not in TIMED}
    same["tests"] = {test: entry["outcome"] for test, entry in report["tests"].items()}
    same["matviews"] = sorted(report["matviews"])
    same["rls_cost"] = [(c["table"], c["role"], c["read"]) for c in report["rls_cost"]]
    same["profiles"] = [p["migration"] for p in report["profiles"]]  # measured: findings differ run to run
    return same


def junit_cases(path: Path) -> dict[tuple[str, str], str]:
    """Each JUnit test case (class, name) with its outcome as JUnit says it."""
    cases = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        cases[(case.get("classname") or "", case.get("name") or "")] = ",".join(kinds) or "passed"
    return cases
