"""Deterministic Faker seeding: an engine that knows no table, and seeders per domain."""

from phase3test.seeding.engine import SeedError, SeedReport, emit_sql, plan, seed
from phase3test.seeding.model import REFERENCE_TIME, SCALES, Batch, SeedContext, Seeder, Step, Update
from phase3test.seeding.registry import load

__all__ = [
    "REFERENCE_TIME",
    "SCALES",
    "Batch",
    "SeedContext",
    "SeedError",
    "SeedReport",
    "Seeder",
    "Step",
    "Update",
    "emit_sql",
    "load",
    "plan",
    "seed",
]
