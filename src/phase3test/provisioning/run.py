"""One server per run, shared by every process of the run (xdist workers included).

The process that owns the run (pytest's controller, or `phase3test up`) picks
a run id; whichever process first needs the server starts it under a file
lock and records it in run.json, the others read it from there. The owner
stops it at the end; a watchdog does so if the owner dies first.

On the external backend the "server" is someone else's: the run builds its
templates there and the owner drops every database the run created. On the
docker backend it is a container the owner removes.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from filelock import FileLock

from phase3test.errors import Phase3TestError, SetupError
from phase3test.migrations.adoption import History, project_history
from phase3test.migrations.discovery import discover
from phase3test.migrations.extensions import check_available, required_extensions
from phase3test.provisioning import docker, external
from phase3test.provisioning.embedded import Provisioner
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.registry import RunDir, base_dir
from phase3test.seeding.template import SeedingPlan
from phase3test.server import binaries as pg_binaries
from phase3test.server.extension_files import FOLDER as EXTENSIONS_FOLDER
from phase3test.server.extension_files import shipped_files, with_extension_files
from phase3test.server.process import ProcessId
from phase3test.server.runas import closed_folder, reachable_binaries, resolve_user
from phase3test.server.target import Claim, this_host
from phase3test.settings import Settings
from phase3test.supabase.doubles import double_files, doubles_for
from phase3test.supabase.platform import Platform


def resolve_binaries(settings: Settings) -> pg_binaries.Resolution:
    origin = settings.origins.get("bindir", "")
    return pg_binaries.resolve(settings.bindir, settings.project.major_version(), f"bindir from {origin}")


def seeding_plan(settings: Settings) -> SeedingPlan | None:
    """What seeds the run's template, or None when the project has neither seed files, buckets nor seeders."""
    project = settings.project
    sql_files, _ = project.seed_files()
    buckets = tuple(project.storage_buckets())
    if not (sql_files or buckets or settings.seeders):
        return None
    return SeedingPlan(settings.seeders, settings.seed, settings.seed_scale, tuple(sql_files), buckets)


@dataclass(frozen=True)
class ExtensionPlan:
    """What a run's server must offer `create extension`, and the files it adds to do so."""

    required: dict[str, list[str]]  # name -> where it is created
    available: set[str]  # what the server's own installation has
    shipped: list[Path]  # the project's test-extensions/ files
    doubles: list[str]  # Supabase extensions the server lacks, replaced by test doubles

    def provided(self) -> set[str]:
        shipped = {path.stem for path in self.shipped if path.suffix == ".control"}
        return self.available | shipped | set(self.doubles)

    def files(self) -> list[Path]:
        return self.shipped + double_files(self.doubles)


class RunServer:
    """Lazily started, shared server of one run."""

    def __init__(self, settings: Settings, run_id: str, owner: ProcessId) -> None:
        self.settings = settings
        self.run_id = run_id
        self.owner = owner
        self.base = base_dir(settings.home)
        self._provisioned: Provisioned | None = None

    @functools.cached_property
    def resolution(self) -> pg_binaries.Resolution:
        """Where the server binaries come from; resolved once per process (the report header needs it too)."""
        return resolve_binaries(self.settings)

    @property
    def run(self) -> RunDir:
        return RunDir(self.base / "runs" / self.run_id)

    def get(self) -> Provisioned:
        """The server, started by this process if no other process of the run has."""
        if self._provisioned is None:
            run = RunDir.create(self.base, self.owner, keep=self.settings.keep, run_id=self.run_id)
            with FileLock(str(run.path / "server.lock")):
                record = run.read()
                if record.get("provisioned"):
                    self._provisioned = Provisioned.from_json(record["provisioned"])
                else:
                    self._provisioned = self._start(run)
                    record = run.read()
                    record["provisioned"] = self._provisioned.to_json()
                    run.write(record)
        return self._provisioned

    def _start(self, run: RunDir) -> Provisioned:
        provisioned = self._provision(run)
        provisioned.warnings += self.settings.project.seed_files()[1]
        return provisioned

    @functools.cached_property
    def extensions(self) -> ExtensionPlan | None:
        """Embedded backend: the extensions the project's migrations and pgTAP files create, what the server
        has, and the files the run adds (the project's test-extensions/, doubles for what the server lacks);
        None elsewhere or when that cannot be known before the server runs."""
        project = self.settings.project
        if self.settings.backend != "embedded" or not project.migrations_dir.is_dir():
            return None
        try:
            binaries = self.resolution.binaries
        except Phase3TestError:
            return None  # no server to compare with: the tests that need one say why
        available = binaries.extensions()
        if available is None:
            return None
        files = [m.path for m in discover(project.migrations_dir).migrations]
        files += sorted((project.root / "tests").rglob("*.sql"))
        required = required_extensions(files)
        shipped = shipped_files(project.root / EXTENSIONS_FOLDER)
        return ExtensionPlan(required, available, shipped, doubles_for(set(required), available))

    @functools.cached_property
    def history(self) -> History:
        """The migrations production has applied (up to `adopted_at`, on `base_ref`): the per-file suites
        check only the others."""
        folder = self.settings.project.migrations_dir
        return project_history(discover(folder).migrations, folder, self.settings.adopted_at, self.settings.base_ref)

    def check_home(self) -> None:
        """Embedded backend: stop before anything runs when the server's user cannot reach the run's folders
        (it would fail initdb once per test, each with the same truncated message)."""
        if self.settings.backend != "embedded":
            return
        try:
            run_as = resolve_user(self.settings.user)
        except Phase3TestError:
            return  # the tests that need the server say why
        closed = closed_folder(self.base, run_as)
        if closed is not None:
            raise SetupError(
                f"the server runs as {run_as.name!r}, who cannot enter {closed}, on the way to the run's "
                f"folders in {self.base}",
                hint="set the home setting (--pg-home, PHASE3TEST_HOME) to a folder everyone may enter "
                f"(/dev/shm, /var/tmp), or open the way: chmod o+rx {closed}",
            )

    def check_extensions(self) -> None:
        """Stop before anything runs when the server lacks extensions the project creates, naming all of them
        (embedded backend; elsewhere the migration that creates one fails)."""
        plan = self.extensions
        if plan is None:
            return
        binaries = self.resolution.binaries
        server = f"PostgreSQL {binaries.version} ({binaries.source}, {binaries.bindir})"
        if binaries.source == pg_binaries.EMBEDDED_WHEEL:
            server += ", which carries no contrib extensions,"
        check_available(plan.required, plan.provided(), binaries.major, server)

    @property
    def platform(self) -> Platform:
        return platform_of(self.settings)

    def _provision(self, run: RunDir) -> Provisioned:
        settings = self.settings
        self.check_extensions()
        seeding = seeding_plan(settings)
        platform = self.platform
        if settings.backend == "external":
            assert settings.db_url is not None
            return external.provision_external(settings.project, settings.db_url, self.claim, seeding, platform)
        if settings.backend == "docker":
            return docker.provision_container(settings.project, seeding, platform)
        resolution = self.resolution
        run_as = resolve_user(settings.user)
        binaries = reachable_binaries(resolution.binaries, run_as, self.base / "cache")
        if self.extensions is not None:
            binaries = with_extension_files(binaries, self.extensions.files(), self.base / "cache")
        provisioner = Provisioner(settings.project, binaries, run_as, self.base, seeding, platform)
        provisioned = provisioner.provision(run, guard_owner=None if self.settings.keep else self.owner)
        if resolution.warning:
            provisioned.warnings.append(resolution.warning)
        return provisioned

    @property
    def claim(self) -> Claim:
        """What marks this run's databases on a shared server."""
        return Claim(self.run_id, this_host(), self.owner, keep=self.settings.keep)

    def started(self) -> Provisioned | None:
        """What the run started, as recorded by whichever process started it."""
        try:
            record = self.run.read()
        except (OSError, ValueError):
            return None
        data = record.get("provisioned")
        return Provisioned.from_json(data) if data else None

    def shutdown(self) -> None:
        """Owner only: stop the server (or drop the run's databases on a shared one) and remove the run's
        files, unless kept."""
        if self.settings.keep and self.started() is not None:
            return
        if self.settings.db_url and self.run.path.exists():  # by the claim: also if its starter died unrecorded
            try:
                external.release(self.settings.db_url, self.claim)
            except (Phase3TestError, psycopg.Error) as exc:
                print(
                    f"phase3test: could not drop this run's databases on the external server: {exc}\n"
                    "  they carry this run's claim; `phase3test down --db-url …` drops them later",
                    file=sys.stderr,
                )
        self.run.destroy()


def platform_of(settings: Settings) -> Platform:
    """The platform defaults a project's databases have, and each migration is applied under."""
    return Platform(settings.default_grants, settings.legacy_grants_until)
