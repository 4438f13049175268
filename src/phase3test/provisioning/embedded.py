"""The embedded backend: a server of the run's own, started from cached clusters when possible.

Two cache levels: a bootstrapped cluster keyed by server version and the
bootstrap SQL (skips initdb), and a migrated cluster keyed additionally by
every migration's checksum and the seeding plan (skips the migrations and
the seeding). Each holds the templates built so far (`templates.py`). A run
copies the best entry and starts its own server on it. If the migrations
fail, the run still gets a server (with the empty template) and the error is
kept so every fixture that needs the migrated template reports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from phase3test.errors import ServerError
from phase3test.migrations.discovery import Discovery, discover
from phase3test.migrations.runner import MigrationError
from phase3test.project import SupabaseProject
from phase3test.provisioning.cache import ClusterCache
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.registry import RunDir, reap_orphans
from phase3test.provisioning.templates import (
    EMPTY_TEMPLATE,
    MIGRATED_TEMPLATE,
    SEEDED_TEMPLATE,
    build_empty,
    build_migrated,
    build_rungs_down,
    build_seeded,
)
from phase3test.seeding.template import SeedingPlan
from phase3test.server import executor, janitor
from phase3test.server.binaries import PgBinaries
from phase3test.server.executor import RunningServer
from phase3test.server.process import ProcessId
from phase3test.server.runas import RunAs
from phase3test.server.target import Target
from phase3test.supabase.bootstrap import BOOTSTRAP_SQL
from phase3test.supabase.platform import Platform

SEED_ERROR_FILE = "seed-error.txt"  # beside a cache entry's data: why it has no seeded template
CACHE_LAYOUT = "3"  # bump when what a cached cluster contains changes (3: the rungs)


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()[:20]


@contextlib.contextmanager
def build_server(binaries: PgBinaries, datadir: Path, run_as: RunAs, base: Path) -> Iterator[RunningServer]:
    """A short-lived server on a cache entry being built, stopped cleanly at the end."""
    run = RunDir.create(base, ProcessId.of_self())
    try:
        server = executor.start(
            binaries, datadir, run.path, run_as, ProcessId.of_self(), [*run.paths, datadir], run.record_server
        )
        try:
            yield server
        finally:
            executor.stop(server)
    finally:
        run.destroy()


def _own(server: RunningServer) -> Target:
    return Target(server.conninfo(), server.version)


class Provisioner:
    """Builds cache entries for one project and starts run servers from them."""

    def __init__(
        self,
        project: SupabaseProject,
        binaries: PgBinaries,
        run_as: RunAs,
        base: Path,
        seeding: SeedingPlan | None = None,
        platform: Platform | None = None,
    ) -> None:
        self.project = project
        self.seeding = seeding
        self.platform = platform or Platform()  # today's Supabase
        self.binaries = binaries
        self.run_as = run_as
        self.base = base
        self.cache = ClusterCache(base / "cache", run_as)

    def bootstrap_key(self) -> str:
        return "boot-" + _digest(
            CACHE_LAYOUT,
            self.binaries.version,
            str(self.binaries.bindir),
            " ".join(executor.INITDB_ARGS),
            BOOTSTRAP_SQL,
            self.platform.fingerprint(),
        )

    def migrated_key(self, discovery: Discovery) -> str:
        parts = [f"{m.path.name}:{m.checksum}" for m in discovery.migrations]
        seeding = self.seeding.fingerprint() if self.seeding else "unseeded"
        return "mig-" + _digest(self.bootstrap_key(), seeding, *parts)

    def build_bootstrapped(self, datadir: Path) -> None:
        executor.initdb(self.binaries, datadir, self.run_as)
        with (
            build_server(self.binaries, datadir, self.run_as, self.base) as server,
            psycopg.connect(server.conninfo(), autocommit=True) as admin,
        ):
            build_empty(_own(server), admin, self.bootstrap_key(), self.platform)

    def build_migrated(self, source: Path, datadir: Path, discovery: Discovery) -> None:
        self.cache.clone(source, datadir)
        with (
            build_server(self.binaries, datadir, self.run_as, self.base) as server,
            psycopg.connect(server.conninfo(), autocommit=True) as admin,
        ):
            target, label = _own(server), self.migrated_key(discovery)
            build_migrated(target, admin, discovery, label, self.platform)
            seed_error = build_seeded(target, admin, self.seeding, label) if self.seeding is not None else None
            if seed_error is not None:
                (datadir.parent / SEED_ERROR_FILE).write_text(seed_error, encoding="utf-8")
            else:
                seeded = self.seeding is not None
                build_rungs_down(target, admin, discovery, self.project, self.platform, seeded, label)

    def provision(self, run: RunDir, guard_owner: ProcessId | None) -> Provisioned:
        """Start the run's server: cache hit, cache rebuild, or a failure with the migration error."""
        reap_orphans(self.base)
        self.project.check_readable()
        discovery = discover(self.project.migrations_dir)
        for attempt in range(2):
            try:
                return self._provision_once(run, guard_owner, discovery)
            except _StaleCache as stale:
                if attempt:
                    raise ServerError(
                        f"cached cluster {stale.key} failed again after a rebuild: {stale.reason}"
                    ) from None
                self.cache.discard(stale.key)
        raise AssertionError("unreachable")

    def _provision_once(self, run: RunDir, guard_owner: ProcessId | None, discovery: Discovery) -> Provisioned:
        timings: dict[str, float] = {}
        hits: dict[str, bool] = {}
        started = time.perf_counter()
        boot_key = self.bootstrap_key()
        hits["bootstrap"] = self.cache.is_valid(self.cache.root / boot_key, boot_key)
        boot_data = self.cache.get_or_build(boot_key, self.build_bootstrapped)
        timings["bootstrap_cache"] = time.perf_counter() - started

        mig_key = self.migrated_key(discovery)
        hits["migrated"] = self.cache.is_valid(self.cache.root / mig_key, mig_key)
        error: MigrationError | None = None
        mark = time.perf_counter()
        try:
            source, source_key = (
                self.cache.get_or_build(mig_key, lambda d: self.build_migrated(boot_data, d, discovery)),
                mig_key,
            )
        except MigrationError as exc:
            source, source_key, error = boot_data, boot_key, exc
        timings["migrated_cache"] = time.perf_counter() - mark
        seed_error_file = self.cache.root / mig_key / SEED_ERROR_FILE
        seed_error = seed_error_file.read_text(encoding="utf-8") if seed_error_file.is_file() else None
        seeded = self.seeding is not None and error is None and seed_error is None

        mark = time.perf_counter()
        target = run.path / "data"
        self.cache.clone(source, target)
        try:
            server = executor.start(
                self.binaries, target, run.path, self.run_as, guard_owner, run.paths, run.record_server
            )
        except ServerError as exc:
            run.discard_data(target)
            raise _StaleCache(source_key, str(exc)) from None
        timings["start"] = time.perf_counter() - mark
        labels = {EMPTY_TEMPLATE: boot_key}
        if error is None:
            labels[MIGRATED_TEMPLATE] = mig_key
        if seeded:
            labels[SEEDED_TEMPLATE] = mig_key
        self._verify_labels(server, run, target, labels, source_key)
        timings["total"] = time.perf_counter() - started
        return Provisioned(
            target=_own(server),
            server=server,
            binaries_source=self.binaries.source,
            bindir=str(self.binaries.bindir),
            migrations=[m.path.name for m in discovery.migrations],
            migration_error=error,
            seeded=seeded,
            seed_error=seed_error,
            warnings=discovery.warnings(),
            timings=timings,
            cache_hits=hits,
        )

    def _verify_labels(
        self, server: RunningServer, run: RunDir, target: Path, labels: dict[str, str], source_key: str
    ) -> None:
        """A cached cluster's templates must carry the keys they were built for; anything else is stale."""
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            ok = all(janitor.label_of(admin, template) == key for template, key in labels.items())
        if not ok:
            executor.stop(server)
            run.discard_data(target)
            raise _StaleCache(source_key, "its templates carry other cache keys")


class _StaleCache(Exception):
    """A cache entry failed after copying: it is discarded and rebuilt once."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(key, reason)
        self.key = key
        self.reason = reason
