"""One server per run, shared by every process of the run (xdist workers included).

The process that owns the run (pytest's controller, or `phase3test up`) picks
a run id; whichever process first needs the server starts it under a file
lock and records it in run.json, the others read it from there. The owner
stops it at the end; a watchdog does so if the owner dies first.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from phase3test.errors import SetupError
from phase3test.project import SupabaseProject
from phase3test.provision import Provisioned, Provisioner
from phase3test.seeding.template import SeedingPlan
from phase3test.server import binaries as pg_binaries
from phase3test.server.process import ProcessId
from phase3test.server.registry import RunDir, base_dir
from phase3test.server.runas import reachable_binaries, resolve_user

BACKENDS = ("embedded",)


@dataclass(frozen=True)
class Settings:
    """Resolved options: command line, then environment, then ini, then defaults."""

    supabase_dir: Path
    backend: str = "embedded"
    bindir: str | None = None
    pg_user: str | None = None
    keep: bool = False
    seeders: str | None = None  # module whose SEEDERS build the seeded template
    seed: int = 0
    seed_scale: int = 1

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SetupError(
                f"unknown backend {self.backend!r}",
                hint=f"choose one of: {', '.join(BACKENDS)}",
            )

    @property
    def project(self) -> SupabaseProject:
        return SupabaseProject(self.supabase_dir)

    def to_json(self) -> dict[str, object]:
        return {
            "supabase_dir": str(self.supabase_dir),
            "backend": self.backend,
            "bindir": self.bindir,
            "pg_user": self.pg_user,
            "keep": self.keep,
            "seeders": self.seeders,
            "seed": self.seed,
            "seed_scale": self.seed_scale,
        }

    @classmethod
    def from_json(cls, data: dict) -> Settings:  # type: ignore[type-arg]
        return cls(**{**data, "supabase_dir": Path(data["supabase_dir"])})


def resolve_binaries(settings: Settings) -> pg_binaries.Resolution:
    explicit = settings.bindir or os.environ.get("PHASE3TEST_PG_BINDIR")
    return pg_binaries.resolve(explicit, settings.project.major_version())


class RunServer:
    """Lazily started, shared server of one run."""

    def __init__(self, settings: Settings, run_id: str, owner: ProcessId) -> None:
        self.settings = settings
        self.run_id = run_id
        self.owner = owner
        self.base = base_dir()
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
        resolution = self.resolution
        run_as = resolve_user(self.settings.pg_user or os.environ.get("PHASE3TEST_PG_USER"))
        binaries = reachable_binaries(resolution.binaries, run_as, self.base / "cache")
        settings = self.settings
        seeding = SeedingPlan(settings.seeders, settings.seed, settings.seed_scale) if settings.seeders else None
        provisioner = Provisioner(settings.project, binaries, run_as, self.base, seeding)
        provisioned = provisioner.provision(run, guard_owner=None if self.settings.keep else self.owner)
        if resolution.warning:
            provisioned.warnings.append(resolution.warning)
        return provisioned

    def started(self) -> Provisioned | None:
        """What the run started, as recorded by whichever process started it."""
        try:
            record = self.run.read()
        except (OSError, ValueError):
            return None
        data = record.get("provisioned")
        return Provisioned.from_json(data) if data else None

    def shutdown(self) -> None:
        """Owner only: stop the server and remove the run's files, unless kept."""
        if self.settings.keep and self.started() is not None:
            return
        self.run.destroy()
