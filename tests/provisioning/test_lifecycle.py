"""Every server the framework starts stops when its run ends, however the run ends.

Each test runs pytest (or the `phase3test` CLI) as a real subprocess on a copy
of the sample project with its own PHASE3TEST_HOME, ends it in some way (pass,
fail, Ctrl-C, a crashed xdist worker, kill -9, ...), and then checks with
`leftovers` that no postgres process and no run folder remain. Every test also
checks that a server really was started, so none can pass because nothing ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from phase3test.server.process import ProcessId, pids_mentioning

pytestmark = pytest.mark.slow

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
CLI = [sys.executable, "-m", "phase3test.cli"]
RUN_TIMEOUT = 60.0  # a whole inner run
START_TIMEOUT = 30.0  # until an inner run's server is up and its test is running
END_TIMEOUT = 15.0  # a run told to stop (Ctrl-C) must have ended within this
# After kill -9 the watchdog must have cleaned up within this: it gives Postgres
# 10 s for a fast shutdown and 5 s more after SIGKILL (process.terminate_group),
# and a loaded CI machine can use that budget, so the wait is longer than both.
WATCHDOG_TIMEOUT = 30.0

# Uses the server, says so with a file in the project folder, then waits to be interrupted.
SLEEPING_TEST = """
    import pathlib
    import time

    def test_sleeps(db):
        assert db.execute("select 1").fetchone() == (1,)
        pathlib.Path("sleeping").touch()
        time.sleep(60)
"""

# Fails an assertion after using the server.
FAILING_TEST = """
    def test_fails(db):
        assert db.execute("select 1").fetchone() == (2,)
"""

# Kills its own (xdist worker) process after using the server.
CRASHING_TEST = """
    import os

    def test_crashes(db):
        assert db.execute("select 1").fetchone() == (1,)
        os._exit(1)
"""

# Commits a row naming its run, waits until the other run got as far, then sees only its own row.
MARKER_TEST = """
    import os
    import pathlib
    import time

    def test_sees_only_its_own_marker(fresh_db, pg_server):
        marker = os.environ["P3T_MARKER"]
        fresh_db.execute("create table public.markers (marker text not null)")
        fresh_db.execute("insert into public.markers values (%s)", (marker,))
        pathlib.Path(f"ready-{marker}").write_text(str(pg_server.port))
        deadline = time.monotonic() + 30
        while len(list(pathlib.Path().glob("ready-*"))) < 2:  # both runs are up at once
            assert time.monotonic() < deadline, "the other run never got this far"
            time.sleep(0.05)
        time.sleep(0.3)
        assert fresh_db.execute("select marker from public.markers").fetchall() == [(marker,)]
"""

# Holds the run in the moment between starting postgres and starting its watchdog, so
# a Ctrl-C can be aimed there; the race exists without this, the wrapper only widens it.
INTERRUPTED_STARTUP_TEST = """
    import pathlib
    import time

    from phase3test.server import watchdog

    real_spawn = watchdog.spawn

    def slow_spawn(*args, **kwargs):
        pathlib.Path("postgres-started").touch()
        time.sleep(3)  # the SIGINT lands here, between Popen(postgres) and the watchdog
        real_spawn(*args, **kwargs)

    watchdog.spawn = slow_spawn

    def test_uses_server(db):
        pass
"""

Leftovers = Callable[[Path], list[str]]
T = TypeVar("T")


# Helpers ----------------------------------------------------------------------


def wait_until(predicate: Callable[[], T], timeout: float, what: str | Callable[[], str], proc: Run | None = None) -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` or if `proc` ends first.

    `what` may be a callable, so a failure describes the state at the deadline, not at the start.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.popen.poll() is not None:
            what = what() if callable(what) else what
            pytest.fail(f"{what}: the process ended first (exit {proc.popen.returncode}):\n{proc.output()}")
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}" + (f":\n{proc.output()}" if proc else ""))
        time.sleep(0.05)


def runs_dir(home: Path) -> Path:
    return home / f"phase3test-{os.geteuid()}" / "runs"


def provisioned_runs(home: Path) -> list[dict[str, Any]]:
    """run.json records under `home` whose server is up."""
    records = []
    for run_file in runs_dir(home).glob("*/run.json"):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(run_file.read_text())
            if record.get("provisioned"):
                records.append(record)
    return records


def server_process(record: dict[str, Any]) -> ProcessId:
    return ProcessId.from_json(record["server"]["process"])


def postgres_processes(home: Path) -> list[int]:
    """Pids of postmasters whose data directory is under `home`."""
    return pids_mentioning("postgres", "-D", str(home))


def watchdogs(home: Path) -> list[int]:
    """Pids of the watchdogs guarding servers under `home`."""
    return pids_mentioning("phase3test.server.watchdog", str(home))


def without_lock_files(left: list[str]) -> list[str]:
    """`leftovers` minus the empty `runs/.<id>.lock` files (see test_kill9_leaves_no_lock_file)."""
    return [item for item in left if not item.endswith(".lock")]


@dataclass
class Run:
    """A subprocess in its own session, its output in a file."""

    popen: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after {timeout:.0f}s:\n{self.output()}")

    def signal_group(self, signum: int) -> None:
        """What a terminal does on Ctrl-C: signal every process of the foreground group."""
        os.killpg(self.popen.pid, signum)

    def kill_all(self) -> None:
        """Kill the whole session (pytest and any xdist workers) and reap the leader."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


@dataclass
class Project:
    """A private copy of the sample project, run against one PHASE3TEST_HOME."""

    path: Path
    home: Path

    def add_test(self, name: str, source: str) -> None:
        (self.path / "tests" / name).write_text(textwrap.dedent(source))

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "PHASE3TEST_HOME"}
        return {**env, "PHASE3TEST_HOME": str(self.home), **extra}

    @contextlib.contextmanager
    def start(self, command: list[str], name: str = "run", env: dict[str, str] | None = None) -> Iterator[Run]:
        """Start `command` here; whatever happens, its process group is killed afterwards."""
        log = self.path / f"{name}.log"
        with log.open("w") as out:
            popen = subprocess.Popen(
                command,
                cwd=self.path,
                env=self.env(**(env or {})),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        run = Run(popen, log)
        try:
            yield run
        finally:
            run.kill_all()

    def run(self, command: list[str], name: str = "run") -> tuple[int, str]:
        """Run `command` to completion: exit code and output."""
        with self.start(command, name) as run:
            code = run.wait(RUN_TIMEOUT)
            return code, run.output()

    def pytest(self, *args: str) -> tuple[int, str]:
        return self.run([*PYTEST, *args], "pytest")

    def cli(self, *args: str) -> tuple[int, str]:
        return self.run([*CLI, *args], args[0])


@pytest.fixture
def project(tmp_path: Path, sample_project: Path, isolated_home: Path) -> Project:
    copy = tmp_path / "project"
    shutil.copytree(sample_project, copy)
    return Project(copy, isolated_home)


def wait_for_sleeping_test(project: Project, run: Run) -> dict[str, Any]:
    """Wait until the run's server is provisioned and its test is sleeping; return the run record."""
    records = wait_until(lambda: provisioned_runs(project.home), START_TIMEOUT, "a provisioned run.json", run)
    wait_until((project.path / "sleeping").exists, START_TIMEOUT, "the test to start sleeping", run)
    (record,) = records
    assert server_process(record).alive(), "run.json names a server that is not running"
    return record


def assert_server_reported(output: str) -> None:
    """pytest's summary says a server was started: the run did exercise the lifecycle."""
    assert "server ready in" in output, output


# Normal ends --------------------------------------------------------------------


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_passing_run_leaves_nothing(project: Project, leftovers: Leftovers, xdist: list[str]) -> None:
    """A run whose tests pass stops its server and removes its files before pytest exits."""
    code, output = project.pytest(*xdist)
    assert code == 0, output
    assert "4 passed" in output, output
    assert_server_reported(output)
    assert leftovers(project.home) == []


def test_failing_run_leaves_nothing(project: Project, leftovers: Leftovers) -> None:
    """A failing test does not keep the server alive: exit 1 and nothing left."""
    project.add_test("test_fails.py", FAILING_TEST)
    code, output = project.pytest()
    assert code == 1, output
    assert "1 failed, 4 passed" in output, output
    assert_server_reported(output)
    assert leftovers(project.home) == []


# Interrupted runs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "xdist"),
    [("pid", []), ("group", []), ("pid", ["-n", "2"]), ("group", ["-n", "2"])],
    ids=["pytest-pid", "process-group", "pytest-pid-xdist", "process-group-xdist"],
)
def test_ctrl_c_stops_the_server(project: Project, leftovers: Leftovers, target: str, xdist: list[str]) -> None:
    """Ctrl-C while a test runs: pytest ends promptly, the server is stopped and its files removed."""
    project.add_test("test_sleeps.py", SLEEPING_TEST)
    with project.start([*PYTEST, *xdist, "tests/test_sleeps.py"]) as run:
        record = wait_for_sleeping_test(project, run)
        assert leftovers(project.home) != []
        if target == "pid":
            run.popen.send_signal(signal.SIGINT)
        else:
            run.signal_group(signal.SIGINT)
        code = run.wait(END_TIMEOUT)
    assert code == 2, run.output()  # pytest's "interrupted"
    assert not server_process(record).alive()
    assert leftovers(project.home) == []


def test_ctrl_c_while_server_starts(project: Project, leftovers: Leftovers) -> None:
    """Ctrl-C while the server is starting: pytest ends and the just-started postgres is stopped too."""
    project.add_test("test_interrupted_startup.py", INTERRUPTED_STARTUP_TEST)
    try:
        with project.start([*PYTEST, "tests/test_interrupted_startup.py"]) as run:
            wait_until((project.path / "postgres-started").exists, START_TIMEOUT, "postgres to start", run)
            assert postgres_processes(project.home), "no postgres running"
            run.popen.send_signal(signal.SIGINT)
            assert run.wait(END_TIMEOUT) == 2, run.output()
        assert leftovers(project.home) == []
    finally:
        for pid in postgres_processes(project.home):  # never leave a leaked server behind, even if this fails
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def test_crashed_xdist_worker_leaves_nothing(project: Project, leftovers: Leftovers) -> None:
    """A worker that dies mid-test (os._exit) is reported; the run still ends and cleans up."""
    project.add_test("test_crash.py", CRASHING_TEST)
    code, output = project.pytest("-n", "2")
    assert code == 1, output
    assert re.search(r"worker 'gw\d' crashed", output), output
    assert "1 failed, 4 passed" in output, output
    assert_server_reported(output)
    assert leftovers(project.home) == []


# kill -9 ------------------------------------------------------------------------------


@contextlib.contextmanager
def killed_pytest(
    project: Project, xdist: list[str], whole_group: bool = False, signum: int = signal.SIGKILL
) -> Iterator[dict[str, Any]]:
    """A sleeping run killed by `signum` (pytest has no handler for SIGKILL or SIGTERM); yields its run record.

    Only the pytest controller is signalled unless `whole_group`: xdist workers
    then live on until the block ends.
    """
    project.add_test("test_sleeps.py", SLEEPING_TEST)
    with project.start([*PYTEST, *xdist, "tests/test_sleeps.py"]) as run:
        record = wait_for_sleeping_test(project, run)
        assert watchdogs(project.home), "no watchdog running"
        if whole_group:
            run.signal_group(signum)
        else:
            run.popen.send_signal(signum)
        assert run.popen.wait(timeout=10) == -signum
        yield record


def wait_for_watchdog_cleanup(project: Project, leftovers: Leftovers) -> None:
    wait_until(
        lambda: without_lock_files(leftovers(project.home)) == [],
        WATCHDOG_TIMEOUT,
        lambda: f"the watchdog to clean up (left: {leftovers(project.home)}, watchdogs: {watchdogs(project.home)})",
    )


@pytest.mark.parametrize(
    ("xdist", "whole_group", "signum"),
    [
        pytest.param([], False, signal.SIGKILL, id="kill9-single"),
        pytest.param(["-n", "2"], False, signal.SIGKILL, id="kill9-xdist-controller"),
        pytest.param(["-n", "2"], True, signal.SIGKILL, id="kill9-xdist-whole-group"),
        pytest.param([], False, signal.SIGTERM, id="sigterm-single"),  # what CI timeouts send
    ],
)
def test_killed_pytest_watchdog_stops_the_server(
    project: Project, leftovers: Leftovers, xdist: list[str], whole_group: bool, signum: int
) -> None:
    """pytest killed without a chance to clean up: the orphaned server notices and stops, its run folder goes."""
    with killed_pytest(project, xdist, whole_group, signum) as record:
        wait_for_watchdog_cleanup(project, leftovers)
        assert not server_process(record).alive()
        wait_until(lambda: not watchdogs(project.home), 5, "the watchdog to exit")


def test_kill9_leaves_no_lock_file(project: Project, leftovers: Leftovers) -> None:
    """After the watchdog cleaned up behind a killed run, nothing at all is left in runs/."""
    with killed_pytest(project, []):
        wait_for_watchdog_cleanup(project, leftovers)
    assert leftovers(project.home) == []


def test_next_run_reaps_an_orphan(project: Project, leftovers: Leftovers) -> None:
    """If pytest and its watchdog both die, the next run in the same home stops the orphan and removes its files."""
    project.add_test("test_sleeps.py", SLEEPING_TEST)
    with project.start([*PYTEST, "tests/test_sleeps.py"], "first") as run:
        record = wait_for_sleeping_test(project, run)
        guards = watchdogs(project.home)
        assert guards, "no watchdog running"
        for pid in guards:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not watchdogs(project.home), 5, "the watchdog to die")
        run.popen.kill()
        run.popen.wait(timeout=10)
    orphan = server_process(record)
    try:
        assert orphan.alive(), "the orphan should still be running: nothing is left to stop it"
        assert any(item.startswith("postgres pid") for item in leftovers(project.home))
        code, output = project.pytest("tests/test_notes.py")
        assert code == 0, output
        assert not orphan.alive()
        assert leftovers(project.home) == []
    finally:
        if orphan.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(orphan.pid, signal.SIGKILL)


# Concurrency ------------------------------------------------------------------------------


def test_two_runs_at_once_do_not_disturb_each_other(project: Project, leftovers: Leftovers) -> None:
    """Two runs in the same project and home at the same time: separate servers, both pass, nothing left."""
    project.add_test("test_marker.py", MARKER_TEST)
    command = [*PYTEST, "tests/test_marker.py", "tests/test_notes.py"]
    with (
        project.start(command, "a", env={"P3T_MARKER": "a"}) as run_a,
        project.start(command, "b", env={"P3T_MARKER": "b"}) as run_b,
    ):
        code_a, code_b = run_a.wait(RUN_TIMEOUT), run_b.wait(RUN_TIMEOUT)
    assert (code_a, code_b) == (0, 0), run_a.output() + run_b.output()
    ports = {(project.path / f"ready-{m}").read_text() for m in "ab"}
    assert len(ports) == 2, "both runs used the same server"
    assert leftovers(project.home) == []


# --pg-keep and the CLI ---------------------------------------------------------------------


def test_pg_keep_leaves_server_until_down(project: Project, leftovers: Leftovers) -> None:
    """--pg-keep: the server outlives pytest and accepts connections; `phase3test down` removes it."""
    code, output = project.pytest("--pg-keep", "tests/test_notes.py")
    assert code == 0, output
    match = re.search(r"^kept running: psql '([^']+)'", output, re.MULTILINE)
    assert match, output
    with psycopg.connect(match.group(1), connect_timeout=5) as conn:
        # the run's server: it holds the migrated template the run cloned its databases from
        assert conn.execute("select count(*) from pg_database where datname = 'p3t_migrated'").fetchone() == (1,)
    assert any(item.startswith("postgres pid") for item in leftovers(project.home))
    code, output = project.cli("down")
    assert code == 0, output
    assert "stopped and removed 1 server(s)" in output
    assert leftovers(project.home) == []


@pytest.mark.parametrize(
    "keep",
    [
        pytest.param(False, id="normal-run"),
        pytest.param(True, id="pg-keep-run"),
    ],
)
def test_down_leaves_live_runs_alone(project: Project, leftovers: Leftovers, keep: bool) -> None:
    """`phase3test down` from another terminal does not stop the server of a run still in progress."""
    project.add_test("test_sleeps.py", SLEEPING_TEST)
    with project.start([*PYTEST, *(["--pg-keep"] if keep else []), "tests/test_sleeps.py"]) as run:
        record = wait_for_sleeping_test(project, run)
        code, output = project.cli("down")
        assert code == 0, output
        assert server_process(record).alive(), f"`phase3test down` stopped a live run's server: {output}"
        run.popen.send_signal(signal.SIGINT)
        assert run.wait(END_TIMEOUT) == 2, run.output()
    if keep:
        project.cli("down")
    assert leftovers(project.home) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_cli_up_serves_until_stopped(project: Project, leftovers: Leftovers, signum: signal.Signals) -> None:
    """`phase3test up` prints a migrated database's DSN, serves until Ctrl-C (or SIGTERM), then removes everything."""
    with project.start([*CLI, "up", "--supabase-dir", str(project.path / "supabase")], "up") as run:
        match = wait_until(lambda: re.search(r"DSN:\s+(\S+)", run.output()), START_TIMEOUT, "the DSN line", run)
        assert match is not None
        with psycopg.connect(match.group(1), connect_timeout=5) as conn:
            assert conn.execute("select to_regclass('public.notes') is not null").fetchone() == (True,)
            versions = conn.execute("select version from supabase_migrations.schema_migrations order by 1").fetchall()
            assert versions == [("20240101000000",), ("20240102000000",)]
        assert any(item.startswith("postgres pid") for item in leftovers(project.home))
        run.signal_group(signum)
        assert run.wait(END_TIMEOUT) == 0, run.output()
    assert leftovers(project.home) == []


def test_cli_up_broken_migration_exits_1(project: Project, leftovers: Leftovers) -> None:
    """`phase3test up` on a failing migration names the file and line, exits 1 and leaves nothing."""
    broken = project.path / "supabase" / "migrations" / "20240103000000_broken.sql"
    broken.write_text("-- a table, then a typo\ncreate table public.ok (id int);\nselect * from public.nope;\n")
    code, output = project.cli("up", "--supabase-dir", str(project.path / "supabase"))
    assert code == 1, output
    assert "20240103000000_broken.sql:3:" in output
    assert 'relation "public.nope" does not exist' in output
    assert leftovers(project.home) == []


def test_cli_up_missing_supabase_dir_exits_2(project: Project, leftovers: Leftovers) -> None:
    """`phase3test up` with no supabase folder is a setup error: exit 2, a message naming it, nothing left."""
    missing = project.path / "nowhere" / "supabase"
    code, output = project.cli("up", "--supabase-dir", str(missing))
    assert code == 2, output
    assert str(missing) in output
    assert leftovers(project.home) == []
