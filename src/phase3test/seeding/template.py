"""The seeded template: what seeds it (the project's seed files, its config.toml buckets, Python seeders with
a seed and a scale), and a fingerprint of all of it.

The order is `supabase db reset`'s: seed files, then buckets; Python seeders
come on top. The fingerprint covers the seed files, the buckets, the
seeders' source files and the engine's own, so editing any of them rebuilds
the cached template just as editing a migration does.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import psycopg

from phase3test.errors import SetupError
from phase3test.project import StorageBucket
from phase3test.seeding.engine import plan, seed
from phase3test.seeding.registry import load

# How rows are loaded is part of what the template holds (e.g. sequences advanced past seeded ids).
ENGINE_SOURCES = sorted(Path(__file__).parent.glob("*.py"))


@dataclass(frozen=True)
class SeedingPlan:
    """What seeds the template: seed SQL files, buckets, and a seeders module with its seed and scale."""

    module: str | None
    seed: int = 0
    scale: int = 1
    sql_files: tuple[Path, ...] = ()
    buckets: tuple[StorageBucket, ...] = ()

    def sources(self) -> list[Path]:
        """The module's files (the whole package if it is one), for the fingerprint."""
        if self.module is None:
            return []
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            raise SetupError(f"cannot find seeders module {self.module!r}", hint="check phase3test_seeders")
        origin = Path(spec.origin)
        if spec.submodule_search_locations:
            return sorted(origin.parent.rglob("*.py"))
        return [origin]

    def fingerprint(self) -> str:
        hasher = hashlib.sha256(f"{self.module}\0{self.seed}\0{self.scale}\0{self.buckets}".encode())
        for source in [*ENGINE_SOURCES, *self.sources(), *self.sql_files]:
            hasher.update(str(source).encode() if source in self.sql_files else source.name.encode())
            hasher.update(source.read_bytes())
        return hasher.hexdigest()[:20]

    def describe(self) -> str:
        """What the report says seeded the template."""
        parts = [", ".join(path.name for path in self.sql_files)] if self.sql_files else []
        if self.buckets:
            parts.append(f"{len(self.buckets)} bucket(s) from config.toml")
        if self.module:
            parts.append(f"{self.module} (seed {self.seed}, scale {self.scale})")
        return " + ".join(parts)

    def apply(self, conn: psycopg.Connection) -> None:
        """Run the Python seeders on `conn`'s database (raises SeedError, keeping nothing, if one fails)."""
        if self.module is not None:
            seed(conn, plan(load(self.module)), self.seed, self.scale)
