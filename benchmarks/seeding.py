"""Seeding throughput per domain on the Phase 3 schema, at the default scale and a larger one.

Each scale seeds a fresh clone of the migrated template with `seed 0`, all
domains in one transaction, exactly as `phase3test seed` does, `REPEATS` times;
the figures are medians. The commit is its own line: it runs the deferred
constraint checks, and the total includes it.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import psycopg
from ours import SHM, Toolchain, start
from scratch import Scratch

from phase3test import janitor
from phase3test.provision import MIGRATED_TEMPLATE
from phase3test.seeding import Seeder, load, plan, seed
from phase3test.server.executor import RunningServer
from phase3test.server.registry import base_dir

PHASE3 = Path(__file__).resolve().parents[1] / "supabase"
SEEDERS = "phase3test.seeding.phase3"
REPEATS = 3
COMMIT = "commit (deferred checks)"


def measure_seeding(scratch: Scratch, scales: tuple[int, ...]) -> dict[str, dict[str, dict[str, float]]]:
    """{scale: {domain or "total": {rows, seconds, rate}}}."""
    tools = Toolchain.resolve(PHASE3)
    base = base_dir(scratch.folder("p3t-bench-seed-", SHM))
    _elapsed, provisioned, run = start(scratch, tools.provisioner(base), base)
    seeders = plan(load(SEEDERS))
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        with psycopg.connect(provisioned.server.conninfo("template1"), autocommit=True) as admin:
            for scale in scales:
                runs = [_seed_once(admin, provisioned.server, seeders, scale) for _ in range(REPEATS)]
                results[str(scale)] = {
                    part: {
                        "rows": runs[0][part]["rows"],
                        "seconds": statistics.median(run[part]["seconds"] for run in runs),
                        "rate": statistics.median(run[part]["rate"] for run in runs),
                    }
                    for part in runs[0]
                }
    finally:
        run.destroy()
    return results


def _seed_once(
    admin: psycopg.Connection, server: RunningServer, seeders: list[Seeder], scale: int
) -> dict[str, dict[str, float]]:
    """One seeding of a fresh clone: {domain, commit or "total": {rows, seconds, rate}}."""
    name = f"p3t_bench_seed_{scale}"
    janitor.create_from_template(admin, name, MIGRATED_TEMPLATE)
    try:
        with psycopg.connect(server.conninfo(name)) as conn:
            report = seed(conn, seeders, 0, scale)
    finally:
        janitor.drop(admin, name)
    parts = {r.name: {"rows": r.rows, "seconds": r.seconds, "rate": r.rate} for r in report.results}
    parts[COMMIT] = {"rows": 0, "seconds": report.commit_seconds, "rate": 0.0}
    parts["total"] = {"rows": report.rows, "seconds": report.seconds, "rate": report.rows / report.seconds}
    return parts
