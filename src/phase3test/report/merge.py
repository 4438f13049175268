"""`phase3test report merge`: one report from a sharded gate's reports, as one run of every test would write it.

Each shard (`--shard i/n`) ran a disjoint share of the same tests against the
same migrations; its report.json has each test's outcome, the access cells,
the figures and the findings its tests recorded. The merge refuses reports
that cannot make one run (a shard missing or given twice, another count of
shards, other migrations, another schema, a test in two shards), joins the
rest, and computes the totals, the verdict and the comparison with a
baseline on the whole, never per shard. The shards' JUnit files become one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from phase3test.errors import SetupError
from phase3test.report import baseline
from phase3test.report.regression import by_test, run_outcome

JUNIT = "junit.xml"
_HINT = "pass every shard's report.json of one run: reports-*/report.json"


def load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The shards' reports, in shard order; a set that is not one whole run is a setup error naming why."""
    shards: dict[int, tuple[Path, dict[str, Any]]] = {}
    for path in paths:
        data = baseline.load(path)
        shard = data.get("shard")
        if not isinstance(shard, dict):
            raise SetupError(f"{path} is the report of a run that was not sharded (no --shard)", hint=_HINT)
        if shard["index"] in shards:
            raise SetupError(f"{shards[shard['index']][0]} and {path} are both shard {shard['index']}", hint=_HINT)
        shards[shard["index"]] = (path, data)
    if not shards:
        raise SetupError("no report to merge", hint=_HINT)
    first_path, first = shards[min(shards)]
    count = first["shard"]["count"]
    for path, data in shards.values():
        for key in ("migrations", "versions"):
            if _comparable(data, key) != _comparable(first, key):
                raise SetupError(f"{path} and {first_path} ran other {key}: they are shards of different runs")
        if data["shard"]["count"] != count:
            raise SetupError(f"{path} is a shard of {data['shard']['count']}, {first_path} one of {count}", hint=_HINT)
    missing = sorted(set(range(1, count + 1)) - set(shards))
    if missing:
        raise SetupError(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing", hint=_HINT)
    return [shards[index][1] for index in sorted(shards)]


def _comparable(data: dict[str, Any], key: str) -> Any:
    if key == "versions":  # the server's is known only to shards that started one; Python's may differ
        return {name: data["versions"].get(name) for name in ("phase3test", "backend")}
    return data[key]


def merge(shards: list[dict[str, Any]], earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report.json one run of all the shards' tests would have written (with `earlier` as its baseline)."""
    tests: dict[str, dict[str, Any]] = {}
    for data in shards:
        for test, entry in data["tests"].items():
            if test in tests:
                raise SetupError(f"{test} ran in two shards: they did not collect the same tests", hint=_HINT)
            tests[test] = entry
    failures = by_test([failure for data in shards for failure in data["failures"]])
    setup_errors = list(dict.fromkeys(error for data in shards for error in data["setup_errors"]))
    status = 1 if failures else next((d["exit_status"] for d in shards if d["exit_status"] != 0), 0)
    suites: dict[str, Counter[str]] = {}
    for test, entry in tests.items():
        suites.setdefault(test.split("::")[0], Counter())[entry["outcome"]] += 1
    versions = dict(shards[0]["versions"])  # the server's as the schema snapshot read it, where a shard took it
    known = sorted(shards, key=lambda d: not d["schema"])
    versions["postgres"] = next((d["versions"]["postgres"] for d in known if d["versions"]["postgres"]), None)
    merged = {
        "format": 1,
        "shard": None,
        "shards": [{**data["shard"], "tests": len(data["tests"]), "elapsed_s": data["elapsed_s"]} for data in shards],
        "finished_at": max(data["finished_at"] for data in shards),
        "elapsed_s": max(data["elapsed_s"] for data in shards),
        "outcome": "error" if setup_errors else run_outcome(status, bool(failures)),
        "exit_status": status,
        "totals": dict(sum(suites.values(), Counter())),
        "versions": versions,
        "migrations": shards[0]["migrations"],
        "suites": {suite: dict(counts) for suite, counts in sorted(suites.items())},
        "tests": dict(sorted(tests.items())),
        "failures": failures,
        "setup_errors": setup_errors,
        "access_roles": next((d["access_roles"] for d in shards if d["access_roles"]), []),
        "access": sorted(
            (cell for data in shards for cell in data["access"]),
            key=lambda c: (c["table"], c["role"], c["operation"]),
        ),
        "matviews": {view: f for data in shards for view, f in data["matviews"].items()},
        "pgtap": dict(sorted((file, found) for data in shards for file, found in data["pgtap"].items())),
        "advisors": _distinct(lint for data in shards for lint in data["advisors"]),
        "profiles": sorted((p for data in shards for p in data["profiles"]), key=lambda p: p["migration"]),
        "rls_cost": sorted(
            (c for data in shards for c in data.get("rls_cost", [])), key=lambda c: (c["table"], c["role"], c["read"])
        ),
        "conditions": by_test([entry for data in shards for entry in data["conditions"]]),
        "skips": by_test([entry for data in shards for entry in data["skips"]]),
        "not_run": by_test([entry for data in shards for entry in data["not_run"]]),
        "schema": _schema(shards),
    }
    if earlier is not None:
        merged["changes"] = baseline.compare(earlier, merged)
    return merged


def _distinct(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries without repeats, in order (one test records the advisors' lints, but a retried one may twice)."""
    seen = {json.dumps(entry, sort_keys=True): entry for entry in entries}
    return list(seen.values())


def _schema(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """The schema snapshot's summary, from the shard whose test took it (all of them agreeing where several did)."""
    taken = [data["schema"] for data in shards if data["schema"]]
    if len({json.dumps(schema, sort_keys=True) for schema in taken}) > 1:
        raise SetupError("the shards' schema snapshots differ: they migrated different schemas", hint=_HINT)
    return taken[0] if taken else {}


def merge_junit(files: list[Path], target: Path) -> None:
    """One JUnit file of the shards': every test case, the counts summed, the time the longest shard's."""
    counts: Counter[str] = Counter()
    longest, cases = 0.0, []
    for file in files:
        for suite in ElementTree.parse(file).getroot().iter("testsuite"):
            counts.update({key: int(suite.get(key) or 0) for key in ("errors", "failures", "skipped", "tests")})
            longest = max(longest, float(suite.get("time") or 0))
            cases += suite.findall("testcase")
    suite = ElementTree.Element(
        "testsuite", {"name": "pytest", **{key: str(counts[key]) for key in sorted(counts)}, "time": f"{longest:.3f}"}
    )
    suite.extend(sorted(cases, key=lambda case: (case.get("classname") or "", case.get("name") or "")))
    root = ElementTree.Element("testsuites", {"name": "pytest tests"})
    root.append(suite)
    ElementTree.ElementTree(root).write(target, encoding="utf-8", xml_declaration=True)
