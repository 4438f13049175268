"""Materialized-view refresh on the Phase 3 schema: time per view, and what readers feel meanwhile.

At each seeding scale a fresh clone of the migrated template is seeded
(`seed 0`), then every view is refreshed concurrently `REPEATS` times (median
per view), and readers' latency is measured while a concurrent and then a
plain refresh keep their transaction open (`matviews.under_load`, two
readers and one writer rolling back inserts' worth of work).
"""

from __future__ import annotations

import phase3
import psycopg
from scratch import Scratch

from phase3test.inspection import matviews
from phase3test.seeding import seed

REPEATS = 3
HOLD = 0.2  # seconds each refresh keeps its transaction open while readers read
WRITES = "update public.bookings set updated_at = updated_at where ctid in (select ctid from public.bookings limit 20)"


def measure_matviews(scratch: Scratch, scales: tuple[int, ...]) -> dict[str, dict[str, dict[str, float]]]:
    """{scale: {view: {refresh_ms, concurrent_median_ms, concurrent_p99_ms, plain_median_ms, plain_p99_ms}}}."""
    seeders = phase3.seeders()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with phase3.server(scratch, "p3t-bench-mv-") as (admin, running):
        for scale in scales:
            with phase3.clone(admin, running, f"p3t_bench_mv_{scale}") as dsn:
                with psycopg.connect(dsn) as conn:
                    seed(conn, seeders, 0, scale)
                results[str(scale)] = _per_view(dsn)
    return results


def _per_view(dsn: str) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        views = matviews.materialized_views(conn)
        for view in views:  # dependency order: each reads refreshed data
            conn.execute(f"refresh materialized view concurrently {view.name}")
        for view in views:
            figures[view.name] = {"refresh_ms": matviews.refresh_time(conn, view, REPEATS) * 1e3}
    for view in views:
        concurrent = matviews.under_load(dsn, view, matviews.concurrent_refresh(view), hold=HOLD, writes=WRITES)
        plain = matviews.under_load(dsn, view, matviews.plain_refresh(view), hold=HOLD, writes=WRITES)
        figures[view.name].update(
            concurrent_median_ms=concurrent.median() * 1e3,
            concurrent_p99_ms=concurrent.p99() * 1e3,
            plain_median_ms=plain.median() * 1e3,
            plain_p99_ms=plain.p99() * 1e3,
            concurrent_lock_waits=concurrent.lock_waits,
            errors=len(concurrent.errors) + len(plain.errors),
        )
    return figures
