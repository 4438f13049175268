"""`phase3test check` on the sample project: the report files, the summary and the exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PHASE3TEST = str(Path(sys.executable).parent / "phase3test")


@pytest.fixture
def project(tmp_path: Path, sample_project: Path, isolated_home: Path) -> Path:
    shutil.copytree(sample_project / "supabase", tmp_path / "supabase")
    shutil.copytree(sample_project / "fixtures", tmp_path / "fixtures")
    shutil.copy(sample_project / ".squawk.toml", tmp_path)
    seeders = (Path(__file__).parent / "test_broken_samples.py").read_text()
    start = seeders.index('SEEDERS = """') + len('SEEDERS = """')
    (tmp_path / "notes_seeders.py").write_text(
        seeders[start : seeders.index('"""', start)].replace("EXTRA_COLUMNS", "{}")
    )
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nphase3test_supabase_dir = supabase\nphase3test_seeders = notes_seeders\npythonpath = .\n"
    )
    return tmp_path


def run_check(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PHASE3TEST_HOME": str(home)}
    return subprocess.run([PHASE3TEST, "check", *args], cwd=project, env=env, capture_output=True, text=True)


def test_a_passing_gate_exits_0_and_writes_every_report_file(project, isolated_home):
    result = run_check(project, isolated_home)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "phase3test check: 2 migrations in" in result.stdout
    assert "migration gate PASSED in" in result.stdout
    assert "access matrix: 24 cells, 0 not as declared" in result.stdout
    reports = project / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["access-matrix.md", "junit.xml", "report.json", "report.md"]
    data = json.loads((reports / "report.json").read_text())
    assert data["outcome"] == "passed" and data["totals"]["passed"] > 0 and not data["failures"]
    assert [m["version"] for m in data["migrations"]] == ["20240101000000", "20240102000000"]
    assert data["schema"]["digest"] and data["versions"]["postgres"].startswith("15.")
    assert "<testsuite" in (reports / "junit.xml").read_text()
    assert (reports / "report.md").read_text().startswith("# Migration gate: PASSED")


def test_a_failing_check_exits_1_and_the_report_names_it(project, isolated_home):
    (project / "supabase/migrations/20240103000000_open.sql").write_text(
        "set local lock_timeout = '5s';\n"
        "drop policy if exists notes_read_all on public.notes;\n"
        "create policy notes_read_all on public.notes for select to authenticated using (true);\n"
    )
    (project / "supabase/rollbacks/20240103000000_open.down.sql").write_text(
        "drop policy if exists notes_read_all on public.notes;\n"
    )
    result = run_check(project, isolated_home)
    assert result.returncode == 1
    assert "migration gate FAILED" in result.stdout
    # note_tags' policy follows the notes a user can see: widening one widens both.
    assert "access matrix: 24 cells, 5 not as declared" in result.stdout
    data = json.loads((project / "reports/report.json").read_text())
    failed = {(c["table"], c["role"], c["operation"]) for c in data["access"] if not c["as_declared"]}
    assert ("public.notes", "writer", "select") in failed and {t for t, _, _ in failed} == {
        "public.notes",
        "public.note_tags",
    }
    assert "expected own: sees 4 of 4 rows" in (project / "reports/report.md").read_text()


def test_a_setup_error_exits_2_and_says_what_to_do(project, isolated_home):
    shutil.rmtree(project / "supabase/migrations")
    result = run_check(project, isolated_home)
    assert result.returncode == 2
    assert "no migrations folder at" in result.stderr and "--supabase-dir" in result.stderr
