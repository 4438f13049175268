"""What phase3test itself costs: cold and warm starts, and the two per-test isolation strategies.

Every server runs in a private home under /dev/shm (the same tmpfs the plugin
uses by default), guarded by phase3test's watchdog like a pytest run's server.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from measure import Stats, per_operation, stopwatch
from psycopg.pq import TransactionStatus
from scratch import Scratch

from phase3test.fixtures import DatabaseFactory
from phase3test.migrations.discovery import discover
from phase3test.project import SupabaseProject
from phase3test.provisioning.embedded import Provisioner
from phase3test.provisioning.pool_keeper import PoolCounts, PoolKeeper
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.registry import RunDir, base_dir
from phase3test.provisioning.run import resolve_binaries
from phase3test.provisioning.templates import MIGRATED_TEMPLATE
from phase3test.seeding.template import SeedingPlan
from phase3test.server import janitor
from phase3test.server.binaries import PgBinaries
from phase3test.server.process import ProcessId
from phase3test.server.runas import RunAs, reachable_binaries, resolve_user
from phase3test.settings import load

SHM = "/dev/shm" if os.path.isdir("/dev/shm") else None


class BenchError(Exception):
    """The benchmark cannot go on (no server binaries, a migration fails, ...)."""


@dataclass
class Toolchain:
    """The project and the server binaries, resolved the way a pytest run resolves them."""

    project: SupabaseProject
    binaries: PgBinaries
    run_as: RunAs
    resolution_steps: list[str]
    warning: str | None
    migrations: list[str]

    @classmethod
    def resolve(cls, supabase_dir: Path) -> Toolchain:
        settings = load([f"--supabase-dir={supabase_dir}"])
        resolution = resolve_binaries(settings)
        run_as = resolve_user(settings.user)
        settings.project.check_readable()
        migrations = [m.path.name for m in discover(settings.project.migrations_dir).migrations]
        return cls(settings.project, resolution.binaries, run_as, resolution.steps, resolution.warning, migrations)

    def provisioner(self, base: Path, seeding: SeedingPlan | None = None) -> Provisioner:
        """`seeding` builds the seeded template too, as a run of a project with seed data does."""
        binaries = reachable_binaries(self.binaries, self.run_as, base / "cache")
        return Provisioner(self.project, binaries, self.run_as, base, seeding)


@dataclass
class WarmServer:
    """The run server left up after the warm starts, for the per-test measurements and the CLI."""

    provisioned: Provisioned
    run: RunDir
    binaries: PgBinaries  # as the server user can run them


@dataclass
class StartResults:
    cold: Stats
    warm: Stats
    cold_breakdown: dict[str, float] = field(default_factory=dict)  # medians of Provisioned.timings
    notes: list[str] = field(default_factory=list)


def start(scratch: Scratch, provisioner: Provisioner, base: Path) -> tuple[float, Provisioned, RunDir]:
    me = ProcessId.of_self()
    with stopwatch() as watch:
        run = RunDir.create(base, me)
        scratch.defer(f"stop run {run.path.name}", run.destroy)
        provisioned = provisioner.provision(run, guard_owner=me)
    if provisioned.migration_error is not None:
        raise BenchError(f"the project's migrations fail, nothing to benchmark:\n{provisioned.migration_error}")
    return watch.elapsed, provisioned, run


def measure_starts(scratch: Scratch, tools: Toolchain, times: int) -> tuple[StartResults, WarmServer]:
    """Cold starts, each in a brand-new home; then warm starts from the last one's cache."""
    cold, breakdowns, notes = [], [], []
    home = None
    for attempt in range(times):
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)  # tmpfs is memory: keep one home at a time
        home = scratch.folder("p3t-bench-cold-", SHM)
        base = base_dir(home)
        provisioner = tools.provisioner(base)  # untimed: only copies binaries if the server user cannot run them
        elapsed, provisioned, run = start(scratch, provisioner, base)
        run.destroy()
        cold.append(elapsed)
        breakdowns.append(provisioned.timings)
        if any(provisioned.cache_hits.values()):
            notes.append(f"cold start {attempt + 1} hit the cache ({provisioned.describe_cache()})")

    assert home is not None
    base = base_dir(home)
    provisioner = tools.provisioner(base)
    warm = []
    kept: WarmServer | None = None
    for attempt in range(times):
        elapsed, provisioned, run = start(scratch, provisioner, base)
        warm.append(elapsed)
        if not provisioned.cache_hits.get("migrated"):
            notes.append(f"warm start {attempt + 1} missed the cache ({provisioned.describe_cache()})")
        if attempt == times - 1:
            kept = WarmServer(provisioned, run, provisioner.binaries)
        else:
            run.destroy()
    assert kept is not None
    breakdown = {key: statistics.median(t[key] for t in breakdowns) for key in breakdowns[0]}
    return StartResults(Stats(tuple(cold)), Stats(tuple(warm)), breakdown, notes), kept


ISOLATION_BATCH = 200
CLONE_BATCH = 3
POOL_DEPTH = 2  # the setting's default
POOL_BATCH = 20  # handouts per sample of --repeat
POOL_SETTLE = 0.5  # s for the keeper to fill the pool before the first handout
POOL_TEST_BODY = 0.02  # s between one test's hand-back and the next handout, as a short test takes


def measure_db_isolation(server: WarmServer, times: int) -> Stats:
    """The `db` fixture per test: a rolled-back transaction around one trivial query, on an open connection."""
    info = server.provisioned.target
    with psycopg.connect(info.conninfo(), autocommit=True) as admin:
        name = "p3t_bench_worker"
        janitor.create_from_template(admin, name, MIGRATED_TEMPLATE)
        try:
            with psycopg.connect(info.conninfo(name), autocommit=True) as conn:

                def one_test() -> None:
                    # what the fixture checks before handing the connection over
                    if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                        raise BenchError("the worker connection broke during the benchmark")
                    with conn.transaction(force_rollback=True):
                        conn.execute("select 1").fetchone()

                return per_operation(one_test, times, ISOLATION_BATCH, warmup=ISOLATION_BATCH // 4)
        finally:
            janitor.drop(admin, name)


def measure_fresh_clone(server: WarmServer, times: int) -> Stats:
    """The `fresh_db` fixture per test: clone the migrated template, connect, close, drop."""
    info = server.provisioned.target
    counter = itertools.count(1)
    with psycopg.connect(info.conninfo(), autocommit=True) as admin:

        def one_test() -> None:
            name = f"p3t_bench_fresh_{next(counter)}"
            janitor.create_from_template(admin, name, MIGRATED_TEMPLATE)
            try:
                with psycopg.connect(info.conninfo(name), autocommit=True):
                    pass
            finally:
                janitor.drop(admin, name)

        return per_operation(one_test, times, CLONE_BATCH, warmup=1)


@dataclass(frozen=True)
class PoolFigures:
    handout: Stats  # DatabaseFactory.create with a ready clone: the test's wait for its database
    per_test: Stats  # handout, connect, close, hand back: beside `measure_fresh_clone`
    counts: PoolCounts


def measure_pool(server: WarmServer, times: int) -> PoolFigures:
    """The `fresh_db` fixture per test with the pool: take a clone (the keeper made it ahead, or pooled it again
    when the test before handed it back untouched), connect, close, hand it back."""
    target = server.provisioned.target
    keeper = PoolKeeper(lambda: target, POOL_DEPTH)
    keeper.start()
    factory = DatabaseFactory(target, "bench", pooled=True)
    handouts, per_test = [], []
    try:
        if not keeper.listening.wait(30):
            raise BenchError("the pool's keeper did not start")
        factory.drop(factory.create(MIGRATED_TEMPLATE, "warmup"))  # the keeper learns which template is wanted
        time.sleep(POOL_SETTLE)
        for _ in range(times * POOL_BATCH):
            started = time.perf_counter()
            name = factory.create(MIGRATED_TEMPLATE, "fresh")
            handed = time.perf_counter()
            with psycopg.connect(target.conninfo(name), autocommit=True):
                pass
            factory.drop(name)
            per_test.append(time.perf_counter() - started)
            handouts.append(handed - started)
            time.sleep(POOL_TEST_BODY)
    finally:
        factory.close()
        keeper.stop()
    return PoolFigures(Stats(tuple(handouts)), Stats(tuple(per_test)), keeper.counts)
