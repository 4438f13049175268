"""The Phase 3 gate in three shards, merged, is the gate run whole: test for test, cell for cell, the same verdict.

The lock profile and the RLS-cost suite are off in both runs: they measure (minutes at production's scale, and
figures no two runs share); which tests run, and how, is what sharding can get wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fix_projects import PHASE3TEST
from limits import SUBPROCESS_TIMEOUT
from same_run import comparable, junit_cases

REPO = Path(__file__).resolve().parents[2]
SUITES = "--pg-suites=profile=off rls_cost=off"
SHARDS = 3
pytestmark = pytest.mark.slow


def phase3test(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [PHASE3TEST, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
    )


def test_three_shards_of_the_phase3_gate_merge_into_the_whole_gate(tmp_path: Path) -> None:
    whole = phase3test("check", SUITES, f"--report-dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stdout[-3000:] + whole.stderr[-3000:]
    for index in range(1, SHARDS + 1):
        shard = phase3test("check", SUITES, f"--shard={index}/{SHARDS}", f"--report-dir={tmp_path / f'shard-{index}'}")
        assert shard.returncode == 0, shard.stdout[-3000:] + shard.stderr[-3000:]
    reports = [str(tmp_path / f"shard-{index}" / "report.json") for index in range(1, SHARDS + 1)]
    merged = phase3test("report", "merge", *reports, f"--report-dir={tmp_path / 'merged'}")
    assert merged.returncode == 0, merged.stdout[-3000:] + merged.stderr[-3000:]

    got, expected = (json.loads((tmp_path / run / "report.json").read_text()) for run in ("merged", "whole"))
    assert len(expected["access"]) > 2000 and len(expected["tests"]) > 2000  # the whole gate, not a corner of it
    assert comparable(got) == comparable(expected)
    grid = (tmp_path / "whole/access-matrix.md").read_text()
    assert (tmp_path / "merged/access-matrix.md").read_text() == grid
    assert junit_cases(tmp_path / "merged/junit.xml") == junit_cases(tmp_path / "whole/junit.xml")
    assert summary(merged.stdout) == summary(whole.stdout)


def summary(stdout: str) -> list[str]:
    """The gate's closing summary: the verdict, each suite's counts, the first failures (not the time it took,
    nor where the report went)."""
    lines = stdout[stdout.index("\nmigration gate ") :].splitlines()[1:]
    return [lines[0].split(" in ")[0], *(line for line in lines[1:] if not line.startswith("report: "))]
