"""What a run's processes share about its server, whichever backend provided it (stored in run.json)."""

from __future__ import annotations

from dataclasses import dataclass, field

from phase3test.migrations.runner import MigrationError
from phase3test.server.executor import RunningServer
from phase3test.server.target import Target


@dataclass
class Provisioned:
    """What a run's processes share about its server (stored in run.json).

    `server` is the process we started (None on a server we did not start here);
    `container` the docker backend's container.
    """

    target: Target
    server: RunningServer | None
    binaries_source: str
    bindir: str
    migrations: list[str]
    migration_error: MigrationError | None
    seeded: bool = False
    seed_error: str | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cache_hits: dict[str, bool] = field(default_factory=dict)
    container: str | None = None

    def describe_cache(self) -> str:
        """How much of the start came from cache, in words."""
        if self.target.shared:
            return "shared server: templates built for this run"
        if self.container:
            return "container: templates built for this run"
        if self.cache_hits.get("migrated"):
            return "warm: cached migrated cluster"
        migrations = "a migration FAILED" if self.migration_error else "migrations applied"
        if self.cache_hits.get("bootstrap"):
            return f"cached bootstrap, {migrations}"
        return f"cold: initdb, bootstrap; {migrations}"

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target.to_json(),
            "server": self.server.to_json() if self.server else None,
            "binaries_source": self.binaries_source,
            "bindir": self.bindir,
            "migrations": self.migrations,
            "migration_error": self.migration_error.to_json() if self.migration_error else None,
            "seeded": self.seeded,
            "seed_error": self.seed_error,
            "warnings": self.warnings,
            "timings": self.timings,
            "cache_hits": self.cache_hits,
            "container": self.container,
        }

    @classmethod
    def from_json(cls, data: dict) -> Provisioned:  # type: ignore[type-arg]
        error = data.get("migration_error")
        return cls(
            Target.from_json(data["target"]),
            RunningServer.from_json(data["server"]) if data.get("server") else None,
            data["binaries_source"],
            data["bindir"],
            list(data["migrations"]),
            MigrationError.from_json(error) if error else None,
            bool(data.get("seeded")),
            data.get("seed_error"),
            list(data.get("warnings", [])),
            dict(data.get("timings", {})),
            dict(data.get("cache_hits", {})),
            data.get("container"),
        )
