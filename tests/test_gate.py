"""`phase3test check` on the sample project: the report files, the summary and the exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from fix_projects import PHASE3TEST
from limits import SUBPROCESS_TIMEOUT

from phase3test.gate import EXIT_INTERRUPTED, summary
from phase3test.project import SupabaseProject
from phase3test.report.regression import RunReport

pytestmark = pytest.mark.slow


def test_a_passing_gate_exits_0_and_writes_every_report_file(project, run_check):
    result = run_check(project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "phase3test check: 2 migrations in" in result.stdout and "0 pgTAP file(s)" in result.stdout
    assert "migration gate PASSED in" in result.stdout
    assert "access matrix: 24 cells, 0 not as declared" in result.stdout
    assert "PytestAssertRewriteWarning" not in result.stdout  # check imports phase3test before pytest starts
    reports = project / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "access-matrix.md",
        "junit.xml",
        "report.html",
        "report.json",
        "report.md",
    ]
    data = json.loads((reports / "report.json").read_text())
    assert data["outcome"] == "passed" and data["totals"]["passed"] > 0 and not data["failures"]
    assert [m["version"] for m in data["migrations"]] == ["20240101000000", "20240102000000"]
    assert data["schema"]["digest"] and data["versions"]["postgres"].startswith("15.")
    assert data["versions"]["backend"] == "embedded"
    assert "<testsuite" in (reports / "junit.xml").read_text()
    assert (reports / "report.md").read_text().startswith("# Migration gate: PASSED")


def test_a_failing_check_exits_1_and_the_report_names_it(project, run_check):
    (project / "supabase/migrations/20240103000000_open.sql").write_text(
        "set local lock_timeout = '5s';\n"
        "drop policy if exists notes_read_all on public.notes;\n"
        "create policy notes_read_all on public.notes for select to authenticated using (true);\n"
    )
    (project / "supabase/rollbacks/20240103000000_open.down.sql").write_text(
        "drop policy if exists notes_read_all on public.notes;\n"
    )
    result = run_check(project)
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


def test_a_setup_error_exits_2_and_says_what_to_do(project, run_check):
    shutil.rmtree(project / "supabase/migrations")
    result = run_check(project)
    assert result.returncode == 2
    assert "no migrations folder at" in result.stderr and "--supabase-dir" in result.stderr


def test_the_report_compared_with_a_baseline_shouts_a_widened_cell_and_names_the_schema_change(project, run_check):
    assert run_check(project).returncode == 0
    shutil.copy(project / "reports/report.json", project / "baseline.json")
    (project / "supabase/migrations/20240103000000_shared.sql").write_text(
        "-- Notes become readable by every signed-in user.\n"
        "set local lock_timeout = '5s';\n"
        "drop policy if exists notes_read_all on public.notes;\n"
        "create policy notes_read_all on public.notes for select to authenticated using (true);\n"
    )
    (project / "supabase/rollbacks/20240103000000_shared.down.sql").write_text(
        "drop policy if exists notes_read_all on public.notes;\n"
    )
    matrix = project / "fixtures/rls_matrix.yaml"
    text = matrix.read_text()
    text = text.replace(
        "    select: {writer: own, service_role: allow}\n", "    select: {writer: allow, service_role: allow}\n"
    )
    # note_tags follow the notes a user can see: every tag is now the writer's to read and write.
    tags = text.index("  public.note_tags:")
    matrix.write_text(text[:tags] + text[tags:].replace("writer: own", "writer: allow"))
    result = run_check(project, "--baseline", "baseline.json")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "since the baseline: 5 access cell(s) WIDENED" in result.stdout
    report = (project / "reports/report.md").read_text()
    assert "- **WIDENED** access: writer select on `public.notes`: own -> allow" in report
    assert "- schema: `+ policy notes_read_all on public.notes to authenticated (SELECT)`" in report
    html = (project / "reports/report.html").read_text()
    assert "WIDENED access: writer select on <code>public.notes</code>" in html
    assert "<table class=grid>" in html and "http://" not in html and "https://" not in html


def test_a_baseline_that_is_not_a_report_is_a_setup_error(project, run_check):
    (project / "baseline.json").write_text('{"hello": 1}')
    result = run_check(project, "--baseline", "baseline.json")
    assert result.returncode == 2
    assert "baseline.json is not a phase3test report" in result.stdout + result.stderr


def test_ctrl_c_during_the_gate_exits_130_and_says_interrupted(project, home):
    """A real Ctrl-C (SIGINT to the terminal's process group) while a test runs."""
    started = project / "started"
    (project / "slow").mkdir()
    (project / "slow/test_slow.py").write_text(
        f"import pathlib, time\n\ndef test_waits():\n    pathlib.Path({str(started)!r}).touch()\n    time.sleep(120)\n"
    )
    gate = subprocess.Popen(
        [PHASE3TEST, "check", "slow"],
        cwd=project,
        env={**os.environ, "PHASE3TEST_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SUBPROCESS_TIMEOUT
        while not started.exists() and gate.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(gate.pid, signal.SIGINT)
        out, _ = gate.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if gate.poll() is None:
            os.killpg(gate.pid, signal.SIGKILL)
    assert gate.returncode == EXIT_INTERRUPTED, out[-3000:]
    assert "migration gate INTERRUPTED in" in out
    assert json.loads((project / "reports/report.json").read_text())["outcome"] == "interrupted"


def test_an_interrupted_run_says_so_in_the_summary_and_the_report(tmp_path, capsys):
    """Ctrl-C before any failure: the verdict is 'interrupted', not 'failed' and not 'passed'."""
    report = RunReport(tmp_path, SupabaseProject(tmp_path / "supabase"), "embedded")
    report.results["test_x.py::test_one"] = "passed"
    data = report.to_json(int(pytest.ExitCode.INTERRUPTED))
    assert data["outcome"] == "interrupted"
    summary(tmp_path, data, 1.0, EXIT_INTERRUPTED)
    assert "migration gate INTERRUPTED in 1 s: 1 passed" in capsys.readouterr().out
    report.failures.append({"test": "test_x.py::test_two", "when": "call", "message": "boom"})
    assert report.to_json(int(pytest.ExitCode.INTERRUPTED))["outcome"] == "failed"  # -x stopped it on a failure


def test_a_migration_that_does_not_apply_is_one_failure_and_what_needed_it_is_not_run(project, run_check):
    (project / "supabase/migrations/20240103000000_typo.sql").write_text(
        "set local lock_timeout = '5s';\nalter table public.notes add column title text;\nselect no_such_function(1);\n"
    )
    (project / "supabase/rollbacks/20240103000000_typo.down.sql").write_text(
        "alter table public.notes drop column if exists title;\n"
    )
    result = run_check(project)
    assert result.returncode == 1
    data = json.loads((project / "reports/report.json").read_text())
    assert [f["test"] for f in data["failures"]] == ["test_migrations.py::test_every_migration_applies_in_order"]
    message = data["failures"][0]["message"]
    assert "20240103000000_typo.sql:3:8: ERROR 42883: function no_such_function(integer) does not exist" in message
    assert "statement:\n    select no_such_function(1)" in message  # the whole message, not its first line
    assert data["totals"]["not run"] >= 30 and data["totals"]["failed"] == 1
    assert {t["reason"] for t in data["not_run"]} == {
        "not run: 20240103000000_typo.sql:3:8 did not apply (ERROR 42883)"
    }
    assert data["versions"]["postgres"].startswith("15.")  # no suite read the schema; the server said
    assert "select no_such_function(1)" in result.stdout  # the summary shows the statement too
    assert "----  test_access.py:" in result.stdout and "not run" in result.stdout
    report = (project / "reports/report.md").read_text()
    assert "PostgreSQL 15." in report and "## Not run because of a failure above" in report


def test_a_seeder_that_fails_is_one_failure_and_what_needed_the_data_is_not_run(tmp_path, notes_project, run_check):
    project = notes_project(tmp_path / "project", extra='{"no_such_column": 1}')
    result = run_check(project)
    assert result.returncode == 1
    data = json.loads((project / "reports/report.json").read_text())
    assert [f["test"] for f in data["failures"]] == ["test_migrations.py::test_the_seed_data_loads"]
    assert "no_such_column" in data["failures"][0]["message"]
    assert data["totals"]["not run"] >= 20
    assert all(t["reason"].startswith("not run: the seed data did not load") for t in data["not_run"])


def test_a_failure_naming_many_objects_keeps_each_in_the_summary_and_the_reports(project, run_check):
    tables = [f"undeclared_{n}" for n in range(5)]
    (project / "supabase/migrations/20240103000000_more.sql").write_text(
        "set local lock_timeout = '5s';\n"
        + "".join(
            f"create table public.{t} (id bigint primary key);\nalter table public.{t} enable row level security;\n"
            for t in tables
        )
    )
    (project / "supabase/rollbacks/20240103000000_more.down.sql").write_text(
        "".join(f"drop table public.{t};\n" for t in tables)
    )
    result = run_check(project)
    assert result.returncode == 1
    coverage = "test_access.py::test_every_table_and_function_in_an_exposed_schema_has_access_decisions"
    data = json.loads((project / "reports/report.json").read_text())
    message = next(f["message"] for f in data["failures"] if f["test"] == coverage)
    report = (project / "reports/report.md").read_text()
    for table in tables:
        needle = f"public.{table}: a table in an exposed schema with no access decisions"
        assert needle in message and needle in report and needle in result.stdout


def _add_an_empty_table(project):
    """A table the seed data leaves empty, with its grants, policy and access decisions."""
    (project / "supabase/migrations/20240103000000_labels.sql").write_text(
        "set local lock_timeout = '5s';\n"
        "create table if not exists public.labels (id bigint primary key, name text not null);\n"
        "alter table public.labels enable row level security;\n"
        "grant select on public.labels to authenticated, service_role;\n"
        "drop policy if exists labels_read on public.labels;\n"
        "create policy labels_read on public.labels for select to authenticated using (true);\n"
    )
    (project / "supabase/rollbacks/20240103000000_labels.down.sql").write_text("drop table public.labels;\n")
    with (project / "fixtures/rls_matrix.yaml").open("a") as matrix:
        matrix.write(
            "  public.labels:\n    select: {writer: allow, service_role: allow}\n"
            "    insert: {}\n    update: {}\n    delete: {}\n"
        )


def test_access_cells_on_a_table_without_rows_are_unchecked_listed_and_counted(project, run_check):
    _add_an_empty_table(project)
    result = run_check(project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "access matrix: 36 cells, 0 not as declared, 12 unchecked" in result.stdout
    data = json.loads((project / "reports/report.json").read_text())
    unchecked = [c for c in data["access"] if c["unchecked"]]
    assert {c["table"] for c in unchecked} == {"public.labels"} and len(unchecked) == 12
    assert all(c["as_declared"] is None for c in unchecked)
    assert unchecked[0]["unchecked"] == "no rows in public.labels to act on: seed some"
    assert data["totals"]["unchecked"] == 12
    assert not [s for s in data["skips"] if "labels" in s["test"]]  # listed with the access matrix, not as skips
    grid = (project / "reports/access-matrix.md").read_text()
    assert "| `public.labels` | `????` | `????` | `????` |" in grid
    assert "- writer select on `public.labels`: no rows in public.labels to act on: seed some" in grid


def test_with_require_rows_an_access_cell_without_rows_fails_naming_the_table(project, run_check):
    _add_an_empty_table(project)
    result = run_check(project, "--pg-require-rows")
    assert result.returncode == 1
    data = json.loads((project / "reports/report.json").read_text())
    failed = {f["test"]: f["message"] for f in data["failures"]}
    assert len(failed) == 12
    message = failed["test_access.py::test_access_matches_the_matrix[public.labels-writer-select]"]
    assert (
        message == "writer select on public.labels: no rows in public.labels to act on: seed some (require_rows is set)"
    )


def test_a_matrix_that_does_not_load_is_a_setup_error_located_in_the_summary_and_counted(project, run_check):
    matrix = project / "fixtures/rls_matrix.yaml"
    matrix.write_text(matrix.read_text().replace("    delete: {writer: own, service_role: allow}\n", "", 1))
    result = run_check(project)
    assert result.returncode == 2
    where = f"{matrix}:9:3: public.notes: no `delete:` decision"
    assert "migration gate SETUP ERROR" in result.stdout and f"setup error: {matrix} has 1 problem(s):" in result.stdout
    assert where in result.stdout
    data = json.loads((project / "reports/report.json").read_text())
    assert data["outcome"] == "error" and where in data["setup_errors"][0]
    assert [f["test"] for f in data["failures"]] == [
        "test_access.py::test_every_table_and_function_in_an_exposed_schema_has_access_decisions"
    ]
    assert data["suites"]["test_access.py"] == {"failed": 1, "not run": 1}  # the suite is still counted
    assert data["totals"]["passed"] > 20  # the suites that do not read the matrix ran


def test_check_honours_the_settings_in_phase3test_toml_over_the_pytest_file(project, run_check):
    """What the gate checks comes from the one resolver: here a project moved below apps/, found through
    phase3test.toml (which outranks pytest.ini's `supabase_dir = supabase`), with its own report folder and
    adoption point, run from a subfolder."""
    (project / "apps/db").mkdir(parents=True)
    shutil.move(project / "supabase", project / "apps/db/supabase")
    (project / "phase3test.toml").write_text(
        'supabase_dir = "apps/db/supabase"\nreport_dir = "out/gate"\nadopted_at = "20240101000000"\n'
    )
    result = run_check(project / "apps")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"2 migrations in {project / 'apps/db/supabase/migrations'}" in result.stdout
    assert "1 migration(s) are history (up to 20240101000000 (adopted_at))" in result.stdout
    data = json.loads((project / "out/gate/report.json").read_text())
    assert data["suites"]["test_idempotency.py"] == {"passed": 1}  # the file after the adoption point only
