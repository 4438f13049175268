"""`phase3test check --shard i/n` on each of n runners, then `phase3test report merge`: the same report, verdict
and exit code as one run of every test, on the sample project passing and broken; sets of reports that are not
one run refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fix_projects import PHASE3TEST
from limits import SUBPROCESS_TIMEOUT
from same_run import comparable, junit_cases

pytestmark = pytest.mark.slow
SHARDS = 3


def merge(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [PHASE3TEST, "report", "merge", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)


def sharded_and_whole(project: Path, run_check: Any, *args: str) -> tuple[list[int], int]:
    """Each shard's exit code (reports in reports-i/), and the whole run's (reports in whole/)."""
    codes = [
        run_check(project, f"--shard={index}/{SHARDS}", f"--report-dir=reports-{index}", *args).returncode
        for index in range(1, SHARDS + 1)
    ]
    return codes, run_check(project, "--report-dir=whole", *args).returncode


def read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def assert_same_run(project: Path) -> None:
    merged, whole = read(project / "merged/report.json"), read(project / "whole/report.json")
    assert comparable(merged) == comparable(whole)
    grids = [project / run / "access-matrix.md" for run in ("merged", "whole")]
    assert [grid.read_text() if grid.exists() else None for grid in grids] == [
        grids[1].read_text() if grids[1].exists() else None
    ] * 2
    assert junit_cases(project / "merged/junit.xml") == junit_cases(project / "whole/junit.xml")


def test_three_shards_merged_are_the_whole_run_test_for_test_and_cell_for_cell(project, run_check):
    codes, whole = sharded_and_whole(project, run_check)
    assert codes == [0, 0, 0] and whole == 0
    said = run_check(project, "--shard=2/3", "--report-dir=again").stdout
    assert "shard 2/3 of every suite" in said
    shards = [read(project / f"reports-{index}/report.json") for index in range(1, SHARDS + 1)]
    sizes = [len(shard["tests"]) for shard in shards]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(read(project / "whole/report.json")["tests"])
    assert [shard["shard"] for shard in shards] == [
        {"index": index, "count": SHARDS, "balanced_by": "count"} for index in range(1, SHARDS + 1)
    ]
    result = merge(project, *(f"reports-{index}/report.json" for index in range(1, SHARDS + 1)), "--report-dir=merged")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "migration gate PASSED" in result.stdout and "access matrix: 24 cells, 0 not as declared" in result.stdout
    assert_same_run(project)
    assert sorted(path.name for path in (project / "merged").iterdir()) == sorted(
        path.name for path in (project / "whole").iterdir()
    )
    assert (project / "merged/report.md").read_text().startswith("# Migration gate: PASSED")

    # Balanced by the whole run's durations the next time: each runner says so, and the merge still holds.
    for index in range(1, SHARDS + 1):
        shard_run = run_check(project, f"--shard={index}/{SHARDS}", f"--report-dir=timed-{index}",
                              "--shard-durations=whole/report.json")  # fmt: skip
        assert shard_run.returncode == 0, shard_run.stdout[-2000:]
        assert read(project / f"timed-{index}/report.json")["shard"]["balanced_by"] == "durations"
    shutil.rmtree(project / "merged")
    assert merge(project, *(f"timed-{i}/report.json" for i in range(1, 4)), "--report-dir=merged").returncode == 0
    assert_same_run(project)


def test_a_migration_that_does_not_apply_fails_the_merge_once_as_it_fails_the_whole_run(project, run_check):
    (project / "supabase/migrations/20240103000000_typo.sql").write_text(
        "set local lock_timeout = '5s';\nselect no_such_function(1);\n"
    )
    (project / "supabase/rollbacks/20240103000000_typo.down.sql").write_text("select 1;\n")
    codes, whole = sharded_and_whole(project, run_check)
    assert whole == 1 and sorted(codes) == [0, 0, 1]  # the runner with the failing test fails; the rest only skip
    result = merge(project, *(f"reports-{index}/report.json" for index in range(1, SHARDS + 1)), "--report-dir=merged")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "migration gate FAILED" in result.stdout and "no_such_function" in result.stdout
    merged = read(project / "merged/report.json")
    assert [f["test"] for f in merged["failures"]] == ["test_migrations.py::test_every_migration_applies_in_order"]
    assert merged["totals"]["not run"] >= 30
    assert_same_run(project)


def test_a_set_of_reports_that_is_not_one_run_is_refused_saying_why(project, run_check, tmp_path):
    codes, _ = sharded_and_whole(project, run_check)
    assert codes == [0, 0, 0]
    shard = [f"reports-{index}/report.json" for index in range(1, SHARDS + 1)]
    into = "--report-dir=merged"
    refused = {
        "shard(s) 3/3 missing": [*shard[:2], into],
        "are both shard 2": [shard[0], shard[1], shard[1], shard[2], into],
        "a run that was not sharded": [*shard, "whole/report.json", into],
        "holds a shard's report": [*shard, "--report-dir=reports-1"],
    }
    other = read(project / shard[2])
    other["migrations"][0]["sha256"] = "0" * 64
    (tmp_path / "other.json").write_text(json.dumps(other))
    refused["ran other migrations"] = [*shard[:2], str(tmp_path / "other.json"), into]
    for message, args in refused.items():
        result = merge(project, *args)
        assert result.returncode == 2 and message in result.stderr, (message, result.stderr)
    assert not (project / "merged").exists()  # nothing written for a refused set


def test_a_runner_whose_share_is_empty_passes_with_an_empty_report(project, run_check):
    result = run_check(project, "--shard=500/500", "--report-dir=empty")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = read(project / "empty/report.json")
    assert report["tests"] == {} and report["outcome"] == "passed" and report["shard"]["index"] == 500
