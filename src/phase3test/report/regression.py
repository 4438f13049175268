"""The regression report of a gate run: `report.json` for machines, `report.md` for a pull request,
`report.html` for a release.

A pytest plugin on the controller only: it counts every test's outcome per
suite, keeps the failures' first lines, and gathers what the suites record
with `record_property` (access cells, materialized-view figures, lock profiles,
the schema snapshot's digest and the server version) from every xdist worker's reports.
At the end of the session it writes the files into the report folder; with a
baseline (an earlier report.json) they also say what changed since.
"""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from phase3test.migrations.discovery import discover
from phase3test.project import SupabaseProject
from phase3test.report import baseline, html, profiles
from phase3test.report.access_grid import AccessReport, tally
from phase3test.report.html import by_lint
from phase3test.report.outcomes import (
    ALWAYS_SHOWN,
    FAILED,
    NOT_RUN,
    OUTCOMES,
    SKIPPED,
    counted,
    failure_message,
    outcome_of,
    skip_reason,
)

# Names the suites record their findings under (record_property); access cells: access_grid.PROPERTY.
# CONDITIONS: a test ran under other conditions than its suite promises (seeded data -> an empty database).
MATVIEWS, SCHEMA, PGTAP, CONDITIONS, ADVISORS = "matviews", "schema", "pgtap", "conditions", "advisors"
PROFILE = "profile"  # one migration's lock profile (profiling/serialize.py)
RLS_COST = "rls_cost"  # one table's reads per role against service_role's (access/rls_cost.py, Cost.to_json)
# A failure that is a setup error (a project file that does not load): the run's outcome is "error", exit 2.
SETUP_ERROR = "setup_error"
FAILURES_SHOWN = 30


@dataclass(eq=False)  # a plugin: pytest hashes it (a field-wise __eq__ would drop __hash__)
class RunReport:
    folder: Path
    project: SupabaseProject
    backend: str
    baseline: dict[str, Any] | None = None  # an earlier report.json, loaded
    shard: dict[str, object] | None = None  # Shard.to_json of a sharded run: which share of the tests ran
    # The run's server version, once it started (known even when no suite got to read the schema).
    server_version: Callable[[], str | None] = lambda: None
    started: float = field(default_factory=time.monotonic)
    results: dict[str, str] = field(default_factory=dict)  # test id -> one of outcomes.OUTCOMES
    durations: dict[str, float] = field(default_factory=dict)  # test id -> seconds (setup, call, teardown)
    failures: list[dict[str, str]] = field(default_factory=list)
    access: AccessReport = field(init=False)
    matviews: dict[str, dict[str, float]] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)
    pgtap: dict[str, list[Any]] = field(default_factory=dict)  # file (under tests/) -> [number, ok, name] each
    conditions: list[dict[str, str]] = field(default_factory=list)  # {test, note}
    skips: list[dict[str, str]] = field(default_factory=list)  # {test, reason}
    not_run: list[dict[str, str]] = field(default_factory=list)  # {test, reason}: skipped for a failure elsewhere
    setup_errors: list[str] = field(default_factory=list)  # each one's message, file:line:column first
    advisors: list[dict[str, str]] = field(default_factory=list)  # Lint.to_json of each lint not accepted
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # migration -> its profile, as serialized
    rls_cost: list[dict[str, Any]] = field(default_factory=list)  # every measured read, Cost.to_json

    def __post_init__(self) -> None:
        self.access = AccessReport(self.folder / "access-matrix.md")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test's outcome: its call's, or its setup's when that kept it from running; any failure wins."""
        decides = report.when == "call" or (report.when == "setup" and not report.passed) or report.failed
        outcome = outcome_of(report)
        if decides and self.results.get(report.nodeid) != FAILED:
            self.results[report.nodeid] = outcome
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.failed:
            self.failures.append({"test": report.nodeid, "when": report.when, "message": failure_message(report)})
        if outcome == NOT_RUN:
            self.not_run.append({"test": report.nodeid, "reason": skip_reason(report)})
        elif outcome == SKIPPED:  # an unchecked access cell is listed with the access matrix
            self.skips.append({"test": report.nodeid, "reason": skip_reason(report)})
        self.access.pytest_runtest_logreport(report)
        for name, value in report.user_properties:
            if name == MATVIEWS and isinstance(value, dict):
                self.matviews.update(value)
            elif name == SCHEMA and isinstance(value, dict):
                self.schema = value
            elif name == PGTAP and isinstance(value, dict):
                self.pgtap[value["file"]] = value["assertions"]
            elif name == ADVISORS and isinstance(value, list):
                self.advisors = value
            elif name == PROFILE and isinstance(value, dict):
                self.profiles[value["migration"]] = value
            elif name == RLS_COST and isinstance(value, list) and report.when == "call":
                self.rls_cost.extend(value)
            elif name == SETUP_ERROR and value not in self.setup_errors:
                self.setup_errors.append(str(value))
            elif name == CONDITIONS and report.when == "call":
                self.conditions.append({"test": report.nodeid, "note": str(value)})

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        data = self.to_json(run_status(int(exitstatus), sharded=self.shard is not None))
        if self.baseline is not None:
            data["changes"] = baseline.compare(self.baseline, data)
        write_files(self.folder, data)

    def outcomes(self) -> dict[str, Counter[str]]:
        """Per suite file, how many of its tests had each outcome (each test once)."""
        counts: dict[str, Counter[str]] = {}
        for nodeid, outcome in self.results.items():
            counts.setdefault(nodeid.split("::")[0], Counter())[outcome] += 1
        return counts

    def to_json(self, exit_status: int) -> dict[str, Any]:
        outcomes = self.outcomes()
        totals: Counter[str] = sum(outcomes.values(), Counter())
        return {
            "format": 1,
            "shard": self.shard,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "elapsed_s": round(time.monotonic() - self.started, 1),
            "outcome": "error" if self.setup_errors else run_outcome(exit_status, bool(self.failures)),
            "exit_status": exit_status,
            "totals": dict(totals),
            "versions": {
                "phase3test": version("phase3test"),
                "python": platform.python_version(),
                "postgres": self.schema.get("server_version") or self.server_version(),
                "backend": self.backend,
            },
            "migrations": self._migrations(),
            "suites": {suite: dict(counts) for suite, counts in sorted(outcomes.items())},
            "tests": {
                test: {"outcome": outcome, "duration_s": round(self.durations.get(test, 0.0), 3)}
                for test, outcome in sorted(self.results.items())
            },
            "failures": by_test(self.failures),
            "setup_errors": self.setup_errors,
            "access_roles": self.access.roles,
            "access": self.access.to_json(),
            "matviews": self.matviews,
            "pgtap": self.pgtap,
            "advisors": self.advisors,
            "profiles": [self.profiles[name] for name in sorted(self.profiles)],
            "rls_cost": sorted(self.rls_cost, key=lambda c: (c["table"], c["role"], c["read"])),
            "conditions": by_test(self.conditions),
            "skips": by_test(self.skips),
            "not_run": by_test(self.not_run),
            "schema": {key: value for key, value in self.schema.items() if key != "server_version"},
        }

    def _migrations(self) -> list[dict[str, str]]:
        try:
            found = discover(self.project.migrations_dir).migrations
        except Exception:  # the run itself reports an unreadable folder; the report just has none
            return []
        return [{"version": m.version, "name": m.name, "sha256": m.checksum} for m in found]


def by_test(entries: list[dict[str, str]]) -> list[dict[str, str]]:
    """Entries in test order (a test's own entries as they came): the same for any order xdist ran them in."""
    return sorted(entries, key=lambda entry: entry["test"])


def write_files(folder: Path, data: dict[str, Any]) -> None:
    """report.json, report.md, report.html and, with access cells, access-matrix.md, all from report.json's data."""
    folder.mkdir(parents=True, exist_ok=True)
    access = AccessReport.from_json(folder / "access-matrix.md", data["access"], data["access_roles"])
    results = {test: entry["outcome"] for test, entry in data["tests"].items()}
    (folder / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(data, access), encoding="utf-8")
    (folder / "report.html").write_text(html.render(data, results), encoding="utf-8")
    access.write()


def run_status(exit_status: int, sharded: bool) -> int:
    """pytest's exit status, where a shard's empty share (more shards than tests) passes rather than finds nothing."""
    if sharded and exit_status == pytest.ExitCode.NO_TESTS_COLLECTED:
        return int(pytest.ExitCode.OK)
    return exit_status


def run_outcome(exit_status: int, failed: bool) -> str:
    """passed, failed, or interrupted (Ctrl-C before any failure: what ran says nothing of what did not)."""
    if exit_status == pytest.ExitCode.OK:
        return "passed"
    return "interrupted" if exit_status == pytest.ExitCode.INTERRUPTED and not failed else "failed"


def render_markdown(data: dict[str, Any], access: AccessReport) -> str:
    """Short enough for a pull-request comment or $GITHUB_STEP_SUMMARY."""
    totals = data["totals"]
    verdict = data["outcome"].upper()
    lines = [
        f"# Migration gate: {verdict}",
        "",
        f"{sum(totals.values()):,} tests in {data['elapsed_s']} s: {counted(totals)}",
        f"{len(data['migrations'])} migrations; PostgreSQL {data['versions']['postgres'] or '?'} "
        f"({data['versions'].get('backend', 'embedded')} backend); "
        f"phase3test {data['versions']['phase3test']}"
        + (f"; schema digest `{data['schema']['digest'][:16]}`" if data["schema"].get("digest") else ""),
        "",
    ]
    columns = [outcome for outcome in OUTCOMES if outcome in ALWAYS_SHOWN or totals.get(outcome)]
    lines += ["| suite | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for suite, counts in data["suites"].items():
        lines.append(f"| `{suite}` | " + " | ".join(str(counts.get(outcome, 0)) for outcome in columns) + " |")
    if data.get("setup_errors"):
        lines += ["", "## Setup errors (fix these first: exit 2)", ""]
        lines += [f"```\n{error}\n```" for error in data["setup_errors"]]
    if data.get("changes"):
        lines += baseline.markdown(data["changes"])
    if data["failures"]:
        lines += ["", f"## Failures ({len(data['failures'])})", ""]
        lines += [_listed_failure(f) for f in data["failures"][:FAILURES_SHOWN]]
        if len(data["failures"]) > FAILURES_SHOWN:
            lines.append(f"- … and {len(data['failures']) - FAILURES_SHOWN} more (report.json has them all)")
    if data.get("not_run"):
        lines += ["", f"## Not run because of a failure above ({len(data['not_run'])})", ""]
        lines += [
            f"- {count} test(s): {reason}" for reason, count in Counter(t["reason"] for t in data["not_run"]).items()
        ]
    if data["conditions"]:
        lines += ["", f"## Checks that ran under other conditions ({len(data['conditions'])})", ""]
        lines += [f"- `{c['test']}`: {c['note']}" for c in data["conditions"]]
    if data.get("advisors"):
        lines += ["", f"## Supabase's advisors: {len(data['advisors'])} lint(s) not accepted", ""]
        for group in by_lint(data["advisors"]):
            shown = ", ".join(f"`{o}`" for o in group.objects[:5])
            more = f" and {len(group.objects) - 5} more" if len(group.objects) > 5 else ""
            lines.append(f"- {group.level} `{group.lint}` ({group.count}): {shown}{more}")
    if data["skips"]:
        lines += ["", f"## Skipped ({len(data['skips'])})", ""]
        lines += [f"- `{s['test']}`: {s['reason']}" for s in data["skips"][:FAILURES_SHOWN]]
    if access.cells:
        lines += [
            "",
            f"## Access matrix: {tally(data['access'])}",
            "",
            "<details><summary>table × role grid</summary>",
            "",
            *access.body(),
            "</details>",
        ]
    lines += rls_cost_markdown(data.get("rls_cost", []))
    lines += profiles.markdown(data.get("profiles", []))
    if data["matviews"]:
        lines += [
            "",
            "## Materialized views: readers' latency during a refresh (median / p99)",
            "",
            "| view | concurrent | plain |",
            "| --- | ---: | ---: |",
        ]
        for view, f in sorted(data["matviews"].items()):
            lines.append(
                f"| `{view}` | {f['concurrent_median_ms']:.2f} / {f['concurrent_p99_ms']:.1f} ms "
                f"| {f['plain_median_ms']:.2f} / {f['plain_p99_ms']:.1f} ms |"
            )
    return "\n".join(lines) + "\n"


def _listed_failure(failure: dict[str, str]) -> str:
    """A failure as a list item, its further lines kept (indented as a code block under the item)."""
    first, *rest = failure["message"].splitlines()
    block = ["", "  ```", *(f"  {line}" for line in rest), "  ```"] if rest else []
    return "\n".join([f"- `{failure['test']}`: {first}", *block])


def rls_cost_markdown(costs: list[dict[str, Any]]) -> list[str]:
    """The slowest reads against service_role's (the ten worst ratios; report.json has every cell)."""
    if not costs:
        return []
    worst = sorted(costs, key=lambda c: -c["ratio"])[:10]
    lines = [
        "",
        f"## RLS cost: {len(costs)} reads, the slowest against service_role",
        "",
        "| table | role | read | as the role | as service_role | ratio | likely cause |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for c in worst:
        cause = "; ".join(c["causes"]) or "-"
        lines.append(
            f"| `{c['table']}` ({c['rows']:,} rows) | {c['role']} | {c['read']} | {c['role_ms']:.2f} ms "
            f"| {c['service_ms']:.2f} ms | x{c['ratio']:.1f} | {cause} |"
        )
    return lines
