"""PHASE3TEST_HOME folders for tests that start servers of their own (lifecycle, cache, CLI).

Each test gets an isolated home, pre-filled with a warm cache for the sample
project, so it can check that nothing is left behind without seeing other
runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.project import SupabaseProject
from phase3test.provisioning.embedded import Provisioner
from phase3test.provisioning.registry import RunDir, base_dir, reap_orphans
from phase3test.server.binaries import resolve
from phase3test.server.process import ProcessId, pids_mentioning
from phase3test.server.runas import reachable_binaries, resolve_user

SAMPLE_PROJECT = Path(__file__).parent / "sample_project"


def shared_tempdir(prefix: str) -> Path:
    """A temp folder the unprivileged server user can traverse (pytest's tmp_path is 0700)."""
    parent = "/dev/shm" if os.path.isdir("/dev/shm") else None
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o755)
    return path


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
    subprocess.run(["cp", "-a", f"{warm_home_template}/.", str(home)], check=True, timeout=SUBPROCESS_TIMEOUT)
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


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PHASE3TEST_HOME for this test's runs: a private copy of the warm cache."""
    monkeypatch.setenv("PHASE3TEST_HOME", str(isolated_home))
    return isolated_home
