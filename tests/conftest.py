"""Shared fixtures of the framework's own tests.

Tests that start servers of their own (lifecycle, cache, CLI) each get an
isolated PHASE3TEST_HOME, pre-filled with a warm cache for the sample project,
so they can check that nothing is left behind without seeing other runs.
Tests that run pytest or `phase3test check` on a project use the sample
project seeded by a small notes seeder (`notes_project`, `broken_project`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from phase3test.project import SupabaseProject
from phase3test.provision import Provisioner
from phase3test.server import executor
from phase3test.server.binaries import resolve
from phase3test.server.process import ProcessId, pids_mentioning
from phase3test.server.registry import RunDir, base_dir, reap_orphans
from phase3test.server.runas import reachable_binaries, resolve_user

collect_ignore = ["sample_project"]
pytest_plugins = ["pytester"]

SAMPLE_PROJECT = Path(__file__).parent / "sample_project"
PHASE3TEST = str(Path(sys.executable).parent / "phase3test")


def shared_tempdir(prefix: str) -> Path:
    """A temp folder the unprivileged server user can traverse (pytest's tmp_path is 0700)."""
    parent = "/dev/shm" if os.path.isdir("/dev/shm") else None
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def sample_project() -> Path:
    return SAMPLE_PROJECT


@pytest.fixture(scope="session")
def warm_home_template() -> Iterator[Path]:
    """A PHASE3TEST_HOME whose cache holds the sample project's clusters (built once per worker)."""
    home = shared_tempdir("p3t-warm-")
    try:
        project = SupabaseProject(SAMPLE_PROJECT / "supabase")
        base = base_dir(home)
        run_as = resolve_user(None)
        binaries = reachable_binaries(resolve(None, project.major_version()).binaries, run_as, base / "cache")
        run = RunDir.create(base, ProcessId.of_self())
        try:
            Provisioner(project, binaries, run_as, base).provision(run, guard_owner=ProcessId.of_self())
        finally:
            run.destroy()
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def cold_home() -> Iterator[Path]:
    """An empty PHASE3TEST_HOME: nothing cached."""
    home = shared_tempdir("p3t-cold-")
    yield home
    reap_orphans(base_dir(home), include_kept=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def isolated_home(warm_home_template: Path) -> Iterator[Path]:
    """A private PHASE3TEST_HOME with a copy of the warm cache; removed afterwards."""
    home = shared_tempdir("p3t-home-")
    subprocess.run(["cp", "-a", f"{warm_home_template}/.", str(home)], check=True)
    yield home
    reap_orphans(base_dir(home), include_kept=True)
    shutil.rmtree(home, ignore_errors=True)


def postgres_processes(under: Path) -> list[int]:
    """Pids of postgres processes whose command line mentions a path under `under`."""
    return pids_mentioning("postgres", "-D", str(under))


@pytest.fixture
def leftovers() -> Callable[[Path], list[str]]:
    """Describe what a run under a PHASE3TEST_HOME left behind: processes and run folders."""

    def describe(home: Path) -> list[str]:
        runs = base_dir(home) / "runs"
        left = [f"postgres pid {pid}" for pid in postgres_processes(home)]
        left += [f"run folder {p.name}" for p in runs.iterdir()] if runs.exists() else []
        return left

    return describe


SEEDERS = """
import uuid

from phase3test.seeding import Batch, Seeder


class Notes(Seeder):
    name = "notes"
    tables = ("auth.users", "public.notes", "public.note_tags")

    def generate(self, ctx):
        users = [(ctx.uuid(), f"writer{i}@example.test", "authenticated", "authenticated") for i in range(2)]
        yield Batch("auth.users", ("id", "email", "aud", "role"), users)
        extra = EXTRA_COLUMNS
        notes = [(n, users[n % 2][0], f"note {n}", ctx.now, *extra.values()) for n in range(1, 5)]
        yield Batch("public.notes", ("id", "owner_id", "body", "created_at", *extra), notes)
        yield Batch("public.note_tags", ("note_id", "tag"), [(n, t) for n in range(1, 5) for t in ("old", "work")])


SEEDERS = [Notes()]
"""


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PHASE3TEST_HOME for this test's runs: a private copy of the warm cache."""
    monkeypatch.setenv("PHASE3TEST_HOME", str(isolated_home))
    return isolated_home


@pytest.fixture
def notes_project(sample_project: Path) -> Callable[..., Path]:
    """`notes_project(folder, files={}, extra="{}")`: the sample project in `folder`, seeded by the notes seeders
    (with `extra` columns on every note), plus `files` (paths under supabase/)."""

    def make(folder: Path, files: dict[str, str] | None = None, extra: str = "{}") -> Path:
        shutil.copytree(sample_project / "supabase", folder / "supabase")
        shutil.copytree(sample_project / "fixtures", folder / "fixtures")
        shutil.copy(sample_project / ".squawk.toml", folder)
        for relative, text in (files or {}).items():
            (folder / "supabase" / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / "supabase" / relative).write_text(text)
        (folder / "notes_seeders.py").write_text(SEEDERS.replace("EXTRA_COLUMNS", extra))
        (folder / "pytest.ini").write_text(
            "[pytest]\nphase3test_supabase_dir = supabase\nphase3test_seeders = notes_seeders\npythonpath = .\n"
        )
        return folder

    return make


@pytest.fixture
def broken_project(pytester: pytest.Pytester, notes_project: Callable[..., Path], home: Path) -> Callable[..., Path]:
    """`broken_project(files, extra="{}")`: the notes project plus `files`, in pytester's folder."""
    return lambda files, extra="{}": notes_project(pytester.path, files, extra)


@pytest.fixture
def project(tmp_path: Path, notes_project: Callable[..., Path]) -> Path:
    """The unbroken notes project in its own folder."""
    return notes_project(tmp_path / "project")


@pytest.fixture
def run_check(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_check(project, *args)`: `phase3test check` in the project's folder."""

    def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PHASE3TEST_HOME": str(home)}
        return subprocess.run([PHASE3TEST, "check", *args], cwd=project, env=env, capture_output=True, text=True)

    return run


# A PostgreSQL server started apart from phase3test's backends, as a CI service container would be:
# a plain cluster (no Supabase roles) with password authentication over TCP, a superuser, a role that
# may not create databases, and a database of someone else's (`customer_data`) no run may touch.

PASSWORD = "outside-s3cret"
FOREIGN_DATABASE = "customer_data"
FOREIGN_ROWS = [(1, "Ada"), (2, "Grace"), (3, "Linus")]


@dataclass(frozen=True)
class OutsideServer:
    port: int
    password: str = PASSWORD
    foreign_database: str = FOREIGN_DATABASE

    def url(self, user: str = "postgres", dbname: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def databases(self) -> set[str]:
        with self.admin() as admin:
            return {row[0] for row in admin.execute("select datname from pg_database")}

    def foreign_rows(self) -> list[tuple[int, str]]:
        with psycopg.connect(self.url(dbname=FOREIGN_DATABASE)) as conn:
            return [(int(r[0]), str(r[1])) for r in conn.execute("select id, name from customers order by id")]


@pytest.fixture(scope="session")
def outside_server() -> Iterator[OutsideServer]:
    """Started once per worker by the test itself, with initdb and postgres; stopped at the end."""
    folder = shared_tempdir("p3t-outside-")
    run_as = resolve_user(None)
    binaries = reachable_binaries(resolve(None, 15).binaries, run_as, folder / "bin")
    datadir = folder / "data"
    executor.initdb(binaries, datadir, run_as)
    server = executor.start(binaries, datadir, folder, run_as, ProcessId.of_self(), [folder])
    try:
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            admin.execute(f"alter role postgres password '{PASSWORD}'")
            admin.execute(f"create role reader login password '{PASSWORD}'")
            admin.execute(f"create database {FOREIGN_DATABASE}")
            with psycopg.connect(server.conninfo(FOREIGN_DATABASE), autocommit=True) as conn:
                conn.execute("create table customers (id int primary key, name text not null)")
                conn.cursor().executemany("insert into customers values (%s, %s)", FOREIGN_ROWS)
            (datadir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
            admin.execute("select pg_reload_conf()")
        yield OutsideServer(server.port)
    finally:
        executor.stop(server)
        shutil.rmtree(folder, ignore_errors=True)
