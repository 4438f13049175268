"""The CI workflows, validated against GitHub's workflow schema by a real linter, and doing what docs/ci.md says."""

from __future__ import annotations

import json
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


def steps(name: str, job: str = "gate") -> list[dict]:
    """The steps of the workflow's job `job` (of its only job, if it has one)."""
    jobs = yaml.safe_load((WORKFLOWS / name).read_text())["jobs"]
    return (jobs[job] if len(jobs) > 1 else next(iter(jobs.values())))["steps"]


def uses(found: list[dict], action: str) -> list[dict]:
    return [step for step in found if step.get("uses", "").startswith(action)]


GATE = yaml.safe_load((WORKFLOWS / "migrations-gate.yml").read_text())
WHOLE, SHARDED = "${{ env.SHARDS == '' }}", "${{ env.SHARDS != '' }}"


def test_the_gate_runs_on_migration_pull_requests_against_the_base_branch_and_keeps_its_report():
    assert "supabase/**" in GATE[True]["pull_request"]["paths"]  # YAML 1.1 reads `on` as True
    assert GATE["env"]["BASE_REF"].startswith("origin/${{ github.base_ref")
    whole = [step for step in steps("migrations-gate.yml") if step.get("if") == WHOLE]
    assert any("make gate" in step.get("run", "") and "--pg-base-ref=$BASE_REF" in step["run"] for step in whole)
    runs = [step.get("run", "") for step in steps("migrations-gate.yml")]
    assert any("GITHUB_STEP_SUMMARY" in run for run in runs)
    uploads = uses(steps("migrations-gate.yml"), "actions/upload-artifact")
    assert uploads and uploads[0]["with"]["path"] == "reports/" and uploads[0]["if"] == "always()"


def test_shards_are_opt_in_and_the_gate_job_gives_the_merged_verdict_under_the_same_check_name():
    """Without PHASE3TEST_SHARDS nothing but `gate` runs; with it, n shard jobs each run `--shard i/n` and keep
    their report, and `gate` (the required check) merges them, also when a shard failed."""
    assert GATE["env"]["SHARDS"] == "${{ vars.PHASE3TEST_SHARDS }}"
    jobs = GATE["jobs"]
    assert jobs["plan"]["if"] == "${{ vars.PHASE3TEST_SHARDS != '' }}" and jobs["shard"]["needs"] == "plan"
    assert jobs["shard"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    (gated,) = [step["run"] for step in steps("migrations-gate.yml", "shard") if "make gate" in step.get("run", "")]
    assert "--shard=${{ matrix.shard }}/$SHARDS" in gated and "--pg-base-ref=$BASE_REF" in gated
    (kept,) = uses(steps("migrations-gate.yml", "shard"), "actions/upload-artifact")
    assert kept["with"] == {"name": "gate-shard-${{ matrix.shard }}", "path": "reports/", "if-no-files-found": "warn"}
    assert kept["if"] == "always()"
    assert jobs["gate"]["needs"] == "shard" and jobs["gate"]["if"].startswith("${{ !cancelled() }}")
    gate = steps("migrations-gate.yml")
    (fetched,) = uses(gate, "actions/download-artifact")
    assert fetched["with"] == {"pattern": "gate-shard-*", "path": "shards/"} and fetched["if"] == SHARDED
    (merging,) = [step for step in gate if "report merge" in step.get("run", "")]
    assert merging["if"] == SHARDED and "report merge shards/*/report.json --report-dir reports" in merging["run"]


def test_the_shards_are_balanced_by_the_durations_the_last_merge_kept():
    (restored,) = uses(steps("migrations-gate.yml", "shard"), "actions/cache/restore")
    (saved,) = uses(steps("migrations-gate.yml"), "actions/cache/save")
    assert restored["with"]["path"] == saved["with"]["path"] == "durations/report.json"  # a cache's paths must match
    assert restored["with"]["restore-keys"] == "gate-durations-" and saved["with"]["key"].startswith("gate-durations-")
    (gated,) = [step["run"] for step in steps("migrations-gate.yml", "shard") if "make gate" in step.get("run", "")]
    assert "--shard-durations=durations/report.json" in gated


@pytest.mark.parametrize("count", ["1", "3", "8"])
def test_the_plan_lists_one_matrix_entry_per_shard(tmp_path, count):
    (step,) = steps("migrations-gate.yml", "plan")
    output = tmp_path / "output"
    subprocess.run(
        ["bash", "-c", step["run"]],
        env={"SHARDS": count, "GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    name, _, value = output.read_text().strip().partition("=")
    assert name == "shards" and json.loads(value) == list(range(1, int(count) + 1))


@pytest.mark.parametrize(("name", "job"), [("migrations-gate.yml", "gate"), ("migrations-gate.yml", "shard"),
                                           ("release-report.yml", "gate")])  # fmt: skip
def test_the_runner_gets_postgresql_15_with_pgtap_as_the_project_targets(name, job):
    runs = " ".join(step.get("run", "") for step in steps(name, job))
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


FAKE_GH = """#!/usr/bin/env python3
import json, os, pathlib, sys
args = sys.argv[1:]
if args[:2] == ["release", "list"]:
    print(os.environ["FAKE_RELEASES"])
elif args[:2] == ["release", "download"]:
    report = json.loads(os.environ["FAKE_REPORTS"]).get(args[2])
    if report is None:
        sys.exit("no assets match the file pattern")
    folder = pathlib.Path(args[args.index("--dir") + 1])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(report)
else:
    sys.exit(f"unexpected: gh {' '.join(args)}")
"""
RELEASES = [
    {"tagName": "v0.9", "publishedAt": "2026-01-10T00:00:00Z", "isDraft": False, "isPrerelease": False},
    {"tagName": "v1.0", "publishedAt": "2026-02-10T00:00:00Z", "isDraft": False, "isPrerelease": False},
    {"tagName": "v1.1-rc1", "publishedAt": "2026-03-01T00:00:00Z", "isDraft": False, "isPrerelease": True},
    {"tagName": "v1.1", "publishedAt": "2026-03-10T00:00:00Z", "isDraft": False, "isPrerelease": False},
    {"tagName": "v1.2-draft", "publishedAt": None, "isDraft": True, "isPrerelease": False},
]


def previous_report(tmp_path: Path, tag: str, reports: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The release workflow's baseline step, run with a GitHub CLI that serves RELEASES and `reports`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    script = WORKFLOWS.parent / "scripts" / "previous_report.py"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "FAKE_RELEASES": json.dumps(RELEASES),
        "FAKE_REPORTS": json.dumps(reports),
    }
    return subprocess.run(
        [sys.executable, str(script), tag, str(tmp_path / "baseline")],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


@pytest.mark.parametrize(("tag", "previous"), [("v1.1", "v1.0"), ("v1.1-rc1", "v1.0"), ("v1.0", "v0.9")])
def test_a_release_fetches_the_report_of_the_release_before_it(tmp_path, tag, previous):
    """A full release skips prereleases; a prerelease compares with whatever came before; drafts never count."""
    reports = {name: f'{{"from": "{name}"}}' for name in ("v0.9", "v1.0", "v1.1-rc1")}
    result = previous_report(tmp_path, tag, reports)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "baseline/report.json").read_text()) == {"from": previous}


@pytest.mark.parametrize(("tag", "said"), [("v0.9", "no release before v0.9"), ("v1.1", "v1.0 has no report.json")])
def test_without_a_previous_report_the_release_report_has_no_baseline_and_the_step_passes(tmp_path, tag, said):
    result = previous_report(tmp_path, tag, {})
    assert result.returncode == 0 and said in result.stdout
    assert not (tmp_path / "baseline/report.json").exists()


def test_the_release_gate_gets_the_fetched_report_as_its_baseline():
    runs = [step.get("run", "") for step in steps("release-report.yml")]
    fetch = next(i for i, run in enumerate(runs) if "previous_report.py" in run)
    gate = next(i for i, run in enumerate(runs) if "make gate" in run)
    assert fetch < gate and "--pg-baseline=baseline/report.json" in runs[gate]
