"""`phase3test check`: the migration gate in one command, with a report and exit codes that mean something.

One pytest session (`-n auto`) runs every suite of `phase3test.suites` (the
static checks and squawk, idempotency, rollbacks, re-runs, access matrix,
security, materialized views), the project's pgTAP files (supabase/tests/)
and any test paths given, then writes the
regression report (JSON, Markdown, JUnit XML) and prints a one-screen
summary. Exit codes: 0 every check passed, 1 a check failed, 2 the setup or
configuration is wrong, 130 interrupted.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from phase3test.errors import Phase3TestError, SetupError
from phase3test.migrations.adoption import project_history
from phase3test.migrations.discovery import discover
from phase3test.report import baseline
from phase3test.report import merge as merged
from phase3test.report.access_grid import tally
from phase3test.report.outcomes import FAILED, NOT_RUN, PASSED, counted
from phase3test.report.regression import run_status, write_files
from phase3test.settings import load, plugin_args

EXIT_OK, EXIT_FAILED, EXIT_SETUP, EXIT_INTERRUPTED = 0, 1, 2, 130
_EXIT_CODES = {
    pytest.ExitCode.OK: EXIT_OK,
    pytest.ExitCode.TESTS_FAILED: EXIT_FAILED,
    pytest.ExitCode.INTERRUPTED: EXIT_INTERRUPTED,
}
SHOWN_FAILURES = 10
SHOWN_LINES = 40  # of one failure's message; report.md and report.json keep all
DEFAULT_REPORT_DIR = "reports"


def check(flags: list[str], paths: list[str], pytest_args: list[str]) -> int:
    """Run the gate with these settings flags (as `phase3test` and pytest spell them), extra test paths and
    pytest arguments; the report goes to the `report_dir` setting, `reports/` by default."""
    started = time.monotonic()
    try:
        settings = load([*flags, *pytest_args], paths)
        report_dir = settings.report_dir or Path.cwd() / DEFAULT_REPORT_DIR
        project = settings.project
        project.check_readable()
        migrations = discover(project.migrations_dir).migrations
        history = project_history(migrations, project.migrations_dir, settings.adopted_at, settings.base_ref)
        pgtap_dir = project.root / "tests"
        pgtap_files = sorted(pgtap_dir.rglob("*.sql")) if pgtap_dir.is_dir() else []
        if pgtap_files:  # the project's pgTAP files, as `supabase test db` would run them
            paths = [*paths, str(pgtap_dir)]
    except Phase3TestError as exc:
        print(f"phase3test check: {exc}", file=sys.stderr)
        return EXIT_SETUP
    share = f"shard {settings.shard} of " if settings.shard else ""
    print(
        f"phase3test check: {len(migrations)} migrations in {project.migrations_dir}, {len(pgtap_files)} pgTAP "
        f"file(s); {share}every suite{' and ' + ', '.join(paths) if paths else ''} with pytest -n auto; "
        f"the report goes to {shown_path(report_dir)}/",
        flush=True,
    )
    if history.versions:
        print(f"phase3test check: {history.describe(migrations)}", flush=True)
    args = [
        *plugin_args(), "-n", "auto", "-p", "no:cacheprovider", "-q", "-rs",
        *flags, f"--pg-report-dir={report_dir}", f"--junitxml={report_dir / 'junit.xml'}",
        "-o", "junit_family=xunit1",  # keeps the suites' recorded properties (xunit2 warns about each one)
        *pytest_args, "--pyargs", "phase3test.suites", *paths,
    ]  # fmt: skip
    (report_dir / "report.json").unlink(missing_ok=True)  # a run that does not start leaves no stale summary
    status = pytest.main(args)
    report = report_dir / "report.json"
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    code = exit_code(run_status(int(status), sharded=settings.shard is not None), data)
    summary(report_dir, data, time.monotonic() - started, code)
    return code


def exit_code(status: int, data: dict[str, Any] | None) -> int:
    """The gate's exit code for pytest's exit status and the report the run wrote (if it got that far)."""
    code = _EXIT_CODES.get(status, EXIT_SETUP)  # type: ignore[call-overload]
    if code == EXIT_INTERRUPTED and data and data["failures"]:
        code = EXIT_FAILED  # -x / --maxfail stop a run the way Ctrl-C does; a failure is what stopped it
    if data and data.get("setup_errors"):
        code = EXIT_SETUP  # a project file that does not load: fix it first, whatever else failed
    return code


def merge(reports: list[Path], report_dir: Path | None, baseline_path: Path | None) -> int:
    """`phase3test report merge`: the shards' reports as one, with the summary and exit code of one whole run."""
    report_dir = report_dir or Path.cwd() / DEFAULT_REPORT_DIR
    try:
        if any(path.resolve().parent == report_dir.resolve() for path in reports):
            raise SetupError(
                f"{shown_path(report_dir)}/ holds a shard's report: the merged one would overwrite it",
                hint="merge into another folder: --report-dir reports",
            )
        shards = merged.load(reports)
        data = merged.merge(shards, baseline.load(baseline_path) if baseline_path else None)
    except Phase3TestError as exc:
        print(f"phase3test report merge: {exc}", file=sys.stderr)
        return EXIT_SETUP
    write_files(report_dir, data)
    junit_files = [path.parent / merged.JUNIT for path in reports]
    if all(file.is_file() for file in junit_files):
        merged.merge_junit(junit_files, report_dir / merged.JUNIT)
    else:
        missing = [str(file) for file in junit_files if not file.is_file()]
        print(f"phase3test report merge: no {merged.JUNIT} merged, missing: {', '.join(missing)}", file=sys.stderr)
    print(f"phase3test report merge: {len(shards)} shard(s), {len(data['tests']):,} tests", flush=True)
    code = exit_code(data["exit_status"], data)
    summary(report_dir, data, data["elapsed_s"], code)
    return code


def summary(report_dir: Path, data: dict[str, Any] | None, elapsed: float, code: int) -> None:
    """One screen: the verdict, each suite's counts, the first failures, where the report is."""
    print()
    if data is None:
        print(f"phase3test check: no report was written ({elapsed:.0f} s); see the errors above", file=sys.stderr)
        return
    verdict = {EXIT_OK: "PASSED", EXIT_FAILED: "FAILED", EXIT_INTERRUPTED: "INTERRUPTED"}.get(code, "SETUP ERROR")
    print(f"migration gate {verdict} in {elapsed:.0f} s: {counted(data['totals'], zeros=False)}")
    for error in data.get("setup_errors", []):
        print("  setup error: " + error.replace("\n", "\n    "))
    if data["access"]:
        print(f"  access matrix: {tally(data['access'])}")
    if data["matviews"]:
        print(f"  materialized views: {len(data['matviews'])} refreshed concurrently under load")
    if data.get("pgtap"):
        assertions = sum(len(found) for found in data["pgtap"].values())
        print(f"  pgTAP: {len(data['pgtap'])} file(s), {assertions} assertion(s)")
    for suite, counts in data["suites"].items():
        print(f"  {_mark(counts)}  {suite}: {counted(counts, zeros=False)}")
    for failure in data["failures"][:SHOWN_FAILURES]:
        first, *rest = failure["message"].splitlines()
        print(f"  - {failure['test']}: {first}")
        for line in rest[:SHOWN_LINES]:
            print(f"      {line}")
        if len(rest) > SHOWN_LINES:
            print(f"      ... {len(rest) - SHOWN_LINES} more line(s) in {shown_path(report_dir) / 'report.md'}")
    if len(data["failures"]) > SHOWN_FAILURES:
        print(f"  - ... {len(data['failures']) - SHOWN_FAILURES} more in {shown_path(report_dir) / 'report.json'}")
    changes = data.get("changes")
    if changes:
        widened = [c for c in changes["access"] if c["widened"]]
        print(
            f"  since the baseline: {len(widened)} access cell(s) WIDENED, {len(changes['newly_failing'])} newly "
            f"failing, {len(changes['schema'])} schema change(s), {len(changes['slower_refreshes'])} slower refresh(es)"
        )
    files = "report.md, report.html, report.json, junit.xml" + (", access-matrix.md" if data["access"] else "")
    print(f"report: {shown_path(report_dir)}/ ({files})")


def _mark(counts: dict[str, int]) -> str:
    """FAIL, ok, or ---- for a suite none of whose tests ran because of a failure elsewhere."""
    if counts.get(FAILED):
        return "FAIL"
    return "----" if counts.get(NOT_RUN) and not counts.get(PASSED) else "ok  "


def shown_path(path: Path) -> Path:
    """A path as the user would write it: relative to where the command runs when it is below."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
