"""The CI workflows, validated against GitHub's workflow schema by a real linter, and doing what docs/ci.md says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from limits import SUBPROCESS_TIMEOUT

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
LINTER = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("name", ["migrations-gate.yml", "release-report.yml"])
def test_the_workflow_is_valid_for_github(name):
    if LINTER is None:
        pytest.skip("check-jsonschema is not installed (a dev dependency)")
    result = subprocess.run(
        [LINTER, "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def steps(name: str) -> list[dict]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_the_gate_runs_on_migration_pull_requests_against_the_base_branch_and_keeps_its_report():
    workflow = yaml.safe_load((WORKFLOWS / "migrations-gate.yml").read_text())
    assert "supabase/**" in workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads `on` as True
    runs = [step.get("run", "") for step in steps("migrations-gate.yml")]
    assert any("make gate" in run and "--pg-base-ref=origin/" in run for run in runs)
    assert any("GITHUB_STEP_SUMMARY" in run for run in runs)
    uploads = [
        step for step in steps("migrations-gate.yml") if step.get("uses", "").startswith("actions/upload-artifact")
    ]
    assert uploads and uploads[0]["with"]["path"] == "reports/" and uploads[0]["if"] == "always()"


@pytest.mark.parametrize("name", ["migrations-gate.yml", "release-report.yml"])
def test_the_runner_gets_postgresql_15_with_pgtap_as_the_project_targets(name):
    runs = " ".join(step.get("run", "") for step in steps(name))
    assert "postgresql-15 postgresql-15-pgtap" in runs


def test_a_published_release_gets_the_report_attached():
    workflow = yaml.safe_load((WORKFLOWS / "release-report.yml").read_text())
    assert workflow[True]["release"]["types"] == ["published"]
    assert workflow["permissions"]["contents"] == "write"
    runs = " ".join(step.get("run", "") for step in steps("release-report.yml"))
    assert "make gate" in runs and "gh release upload" in runs and "reports/report.json" in runs


def test_a_published_release_gets_the_mutation_run_attached():
    runs = " ".join(step.get("run", "") for step in steps("release-report.yml"))
    assert "make mutate" in runs and "reports/mutations.md" in runs
