"""Seeding throughput per domain on the Phase 3 schema, at the default scale and a larger one.

Each scale seeds a fresh clone of the migrated template with `seed 0`, all
domains in one transaction, exactly as `phase3test seed` does, `REPEATS` times;
the figures are medians. What runs after the last seeder (foreign keys
checked set-based, deferred constraints, the commit) is its own line, and the
total includes it.
"""

from __future__ import annotations

import statistics

import phase3
import psycopg
from scratch import Scratch

from phase3test.seeding import Seeder, seed
from phase3test.server.target import Target

REPEATS = 3
CHECKS = "checks after loading"  # foreign keys, deferred constraints, sequences, commit


def measure_seeding(scratch: Scratch, scales: tuple[int, ...]) -> dict[str, dict[str, dict[str, float]]]:
    """{scale: {domain, CHECKS or "total": {rows, seconds, rate}}}.

    A domain's seconds are the wall time from the domain before being loaded and checked to this one
    being so (the first also waits for the producer to fork); they add up, with CHECKS, to the total.
    """
    seeders = phase3.seeders()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with phase3.server(scratch, "p3t-bench-seed-") as (admin, running):
        for scale in scales:
            runs = [_seed_once(admin, running, seeders, scale) for _ in range(REPEATS)]
            results[str(scale)] = {
                part: {
                    "rows": runs[0][part]["rows"],
                    "seconds": statistics.median(run[part]["seconds"] for run in runs),
                    "rate": statistics.median(run[part]["rate"] for run in runs),
                }
                for part in runs[0]
            }
    return results


def _seed_once(
    admin: psycopg.Connection, running: Target, seeders: list[Seeder], scale: int
) -> dict[str, dict[str, float]]:
    """One seeding of a fresh clone: {domain, commit or "total": {rows, seconds, rate}}."""
    with phase3.clone(admin, running, f"p3t_bench_seed_{scale}") as dsn, psycopg.connect(dsn) as conn:
        report = seed(conn, seeders, 0, scale)
    parts = {r.name: {"rows": r.rows, "seconds": r.seconds, "rate": r.rate} for r in report.results}
    parts[CHECKS] = {"rows": 0, "seconds": report.checks_seconds, "rate": 0.0}
    parts["total"] = {"rows": report.rows, "seconds": report.seconds, "rate": report.rows / report.seconds}
    return parts
