"""The seeded template: which seeders, seed and scale build it, and a fingerprint of all three.

The fingerprint covers the seeders' source files and the engine's own, so
editing either rebuilds the cached template just as editing a migration does.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import psycopg

from phase3test.errors import SetupError
from phase3test.seeding.engine import plan, seed
from phase3test.seeding.registry import load

# How rows are loaded is part of what the template holds (e.g. sequences advanced past seeded ids).
ENGINE_SOURCES = sorted(Path(__file__).parent.glob("*.py"))


@dataclass(frozen=True)
class SeedingPlan:
    """What seeds the template: a seeders module, a seed and a scale."""

    module: str
    seed: int = 0
    scale: int = 1

    def sources(self) -> list[Path]:
        """The module's files (the whole package if it is one), for the fingerprint."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            raise SetupError(f"cannot find seeders module {self.module!r}", hint="check phase3test_seeders")
        origin = Path(spec.origin)
        if spec.submodule_search_locations:
            return sorted(origin.parent.rglob("*.py"))
        return [origin]

    def fingerprint(self) -> str:
        hasher = hashlib.sha256(f"{self.module}\0{self.seed}\0{self.scale}".encode())
        for source in [*ENGINE_SOURCES, *self.sources()]:
            hasher.update(source.name.encode())
            hasher.update(source.read_bytes())
        return hasher.hexdigest()[:20]

    def apply(self, conn: psycopg.Connection) -> None:
        """Seed `conn`'s database (raises SeedError, keeping nothing, if a seeder fails)."""
        seed(conn, plan(load(self.module)), self.seed, self.scale)
