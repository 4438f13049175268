"""The external backend on a server started apart from phase3test (`outside_server`): the suites pass
there, the run's databases are its own and gone afterwards, and nobody else's database is touched."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.errors import SetupError
from phase3test.project import SupabaseProject
from phase3test.provisioning import external
from phase3test.seeding.template import SeedingPlan
from phase3test.server import janitor
from phase3test.server.process import ProcessId
from phase3test.server.target import Claim, Target, claimed_databases, this_host
from phase3test.settings import Settings
from phase3test.supabase.platform import Platform

pytestmark = pytest.mark.slow

WHERE_TESTS_RUN = """
def test_runs_in_a_database_of_the_run_on_the_external_server(db, pg_server):
    assert pg_server.backend == "external" and pg_server.bindir is None
    name = db.execute("select current_database()").fetchone()[0]
    assert name.startswith(pg_server.prefix + "_") and pg_server.prefix != "p3t"
    assert db.execute("select count(*) from public.notes").fetchone()[0] == 4
    assert db.execute("select rolbypassrls from pg_roles where rolname = 'service_role'").fetchone()[0]
"""


def _claim(run_id: str, owner: ProcessId, host: str | None = None, keep: bool = False) -> Claim:
    return Claim(run_id, host or this_host(), owner, keep)


def _dead_process() -> ProcessId:
    proc = subprocess.Popen(["sleep", "0"])
    owner = ProcessId.of(proc.pid)
    proc.wait(timeout=SUBPROCESS_TIMEOUT)
    return owner


def test_the_gate_passes_on_an_external_server_and_leaves_it_as_it_was(
    outside_server, project: Path, run_check: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    (project / "tests").mkdir()
    (project / "tests" / "test_where.py").write_text(WHERE_TESTS_RUN)
    before, rows = outside_server.databases(), outside_server.foreign_rows()

    done = run_check(project, "tests", "--pg-backend", "external", "--pg-db-url", outside_server.url())

    assert done.returncode == 0, done.stdout + done.stderr
    assert "migration gate PASSED" in done.stdout and "tests/test_where.py: 1 passed" in done.stdout
    assert "shared server: templates built for this run" in done.stdout
    report = json.loads((project / "reports" / "report.json").read_text())
    assert report["versions"]["backend"] == "external" and report["outcome"] == "passed"
    assert outside_server.password not in done.stdout + done.stderr
    assert not [f.name for f in (project / "reports").iterdir() if outside_server.password in f.read_text()]
    assert outside_server.databases() == before, "every database the run created is dropped"
    assert outside_server.foreign_rows() == rows


def test_a_failing_migration_is_named_and_nothing_is_left(
    outside_server, broken_project: Callable[..., Path], pytester: pytest.Pytester
) -> None:
    broken_project(
        {
            "migrations/20250301000000_broken.sql": "create table public.oops (id int);\nselect 1/0;\n",
            "../test_shows_its_arguments.py": "def test_fails(pg_server):\n    assert pg_server.major == 0\n",
        }
    )
    before = outside_server.databases()

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pg-backend=external", f"--pg-db-url={outside_server.url()}", "-l",
        "test_shows_its_arguments.py", "--pyargs", "phase3test.suites.test_rollbacks",
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip

    output = result.stdout.str()
    assert result.ret == 1, output
    assert "20250301000000_broken.sql" in output and "division by zero" in output
    assert "pg_server = ServerInfo(" in output, "the traceback shows the fixture, and without its URL"
    assert outside_server.password not in output
    assert outside_server.databases() == before


def test_it_refuses_to_reuse_or_drop_a_database_it_did_not_create(outside_server) -> None:
    ours = Target(outside_server.url(), "15", "p3t_test0001", _claim("test0001", ProcessId.of_self()))
    theirs = Target(outside_server.url(), "15", "p3t_test0002", _claim("test0002", ProcessId.of_self()))
    rows = outside_server.foreign_rows()
    with outside_server.admin() as admin:
        with pytest.raises(SetupError, match=r"refusing to drop database customer_data.*did not create it") as dropped:
            ours.drop(admin, outside_server.foreign_database)
        assert "phase3test did not create it" in str(dropped.value)
        with pytest.raises(SetupError, match=r"refusing to use database customer_data.*exists already"):
            ours.create(admin, outside_server.foreign_database, "template0")

        theirs.create(admin, "p3t_test0002_worker", "template0")
        try:
            with pytest.raises(SetupError, match="belongs to phase3test run test0002"):
                ours.drop(admin, "p3t_test0002_worker")
            assert ours.drop_own(admin) == []
        finally:
            theirs.drop(admin, "p3t_test0002_worker")
    assert outside_server.password not in str(dropped.value)
    assert outside_server.foreign_rows() == rows


def test_runs_that_died_are_cleaned_up_and_kept_ones_wait_for_down(
    outside_server, sample_project: Path, home: Path
) -> None:
    left = {
        "p3t_dead0001_worker": _claim("dead0001", _dead_process()),
        "p3t_kept0001_empty": _claim("kept0001", _dead_process(), keep=True),
        "p3t_live0001_worker": _claim("live0001", ProcessId.of_self()),
        "p3t_away0001_worker": _claim("away0001", ProcessId(1, "1"), host="another-machine/boot"),
    }
    with outside_server.admin() as admin:
        for name, claim in left.items():
            Target(outside_server.url(), "15", name.rsplit("_", 1)[0], claim).create(admin, name, "template0")
    project = SupabaseProject(sample_project / "supabase")
    this_run = _claim("next0001", ProcessId.of_self())

    provisioned = external.provision_external(project, outside_server.url(), this_run, None, Platform())
    try:
        assert provisioned.migration_error is None and provisioned.target.prefix == "p3t_next0001"
        with outside_server.admin() as admin:
            claimed = claimed_databases(admin)
        assert "p3t_dead0001_worker" not in claimed, "a run whose owner died is reaped by the next one"
        assert {"p3t_kept0001_empty", "p3t_live0001_worker", "p3t_away0001_worker"} <= set(claimed)
        assert {"p3t_next0001_empty", "p3t_next0001_migrated"} <= set(claimed)
    finally:
        assert set(external.release(outside_server.url(), this_run)) == {
            "p3t_next0001_empty",
            "p3t_next0001_migrated",
        }

    down = subprocess.run(
        [str(Path(sys.executable).parent / "phase3test"), "down", "--db-url", outside_server.url()],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert down.returncode == 0, down.stderr
    assert "dropped 1 database(s): p3t_kept0001_empty" in down.stdout
    assert "left p3t_live0001_worker: phase3test run live0001 still running" in down.stdout
    assert "left p3t_away0001_worker: phase3test run away0001 on another-machine" in down.stdout
    with outside_server.admin() as admin:
        for name in ("p3t_live0001_worker", "p3t_away0001_worker"):
            janitor.drop(admin, name)


def test_a_role_that_cannot_create_databases_or_a_wrong_password_is_told_so(outside_server, sample_project) -> None:
    project = SupabaseProject(sample_project / "supabase")
    claim = _claim("deny0001", ProcessId.of_self())
    with pytest.raises(SetupError, match=r"role reader on reader@127\.0\.0\.1:.*/postgres cannot create databases"):
        external.provision_external(project, outside_server.url(user="reader"), claim, None, Platform())
    with pytest.raises(SetupError, match=r"cannot connect to the external server postgres@127\.0\.0\.1") as refused:
        external.provision_external(project, outside_server.url(password="wrong-pw"), claim, None, Platform())
    assert "wrong-pw" not in str(refused.value)


FAILING_SEEDERS = """
from phase3test.seeding import Batch, Seeder


class Broken(Seeder):
    name = "broken"
    tables = ("public.notes",)

    def generate(self, ctx):
        yield Batch("public.notes", ("id", "no_such_column"), [(1, "x")])


SEEDERS = [Broken()]
"""


def test_a_seeder_that_fails_leaves_the_migrated_template_and_says_why(
    outside_server, sample_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "failing_seeders.py").write_text(FAILING_SEEDERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    project = SupabaseProject(sample_project / "supabase")
    claim = _claim("seed0001", ProcessId.of_self())
    provisioned = external.provision_external(
        project, outside_server.url(), claim, SeedingPlan("failing_seeders"), Platform()
    )
    try:
        assert not provisioned.seeded and provisioned.migration_error is None
        assert "no_such_column" in (provisioned.seed_error or "")
        with outside_server.admin() as admin:
            assert set(claimed_databases(admin)) >= {"p3t_seed0001_empty", "p3t_seed0001_migrated"}
            assert "p3t_seed0001_seeded" not in claimed_databases(admin)
    finally:
        external.release(outside_server.url(), claim)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "external"}, "the external backend needs the server's URL"),
        ({"db_url": "postgresql://127.0.0.1/postgres"}, "a database URL was given but the backend is embedded"),
    ],
)
def test_backend_and_url_must_agree(options: dict[str, object], message: str) -> None:
    with pytest.raises(SetupError, match=message):
        Settings(supabase_dir=Path("supabase"), **options)  # type: ignore[arg-type]
