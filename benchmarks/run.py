"""phase3test benchmarks: figures, not assertions.

Measures cold and warm server starts and the per-test cost of the `db` and
`fresh_db` strategies, and in the same run two baselines: the Supabase CLI's
`supabase db reset` and the straightforward initdb + pg_ctl + plain SQL setup
a team writes first; then seeding and materialized views on the Phase 3
schema, and `phase3test profile` at growing row counts against the same
check done by hand. Prints medians, minima, maxima, the goals and the ratios;
`--json PATH` also writes them for the regression report. Exits 0 however
slow things are; 1 only when phase3test itself cannot be measured, 130 when
interrupted. Every server and folder it starts is stopped and removed, also
on Ctrl-C.

    .venv/bin/python benchmarks/run.py [--repeat N] [--supabase-dir DIR] [--json PATH]
        [--seed-scales 1,50] [--profile-rows 100000,1000000,3000000] [--gate-migrations 30,100,300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import cli_reset
import gate_scale
import matviews
import naive
import ours
import profiling
import report
import seeding
from measure import Stats
from scratch import Scratch

from phase3test.errors import Phase3TestError

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PROJECT = REPO / "tests" / "sample_project" / "supabase"
DEFAULT_CLI = REPO / "node_modules" / ".bin" / "supabase"

GOALS = {
    "cold_start": 5.0,
    "warm_start": 1.0,
    "db_isolation": 0.005,
    "fresh_clone": 0.100,
    "pool_handout": 0.005,
    "pool_per_test": 0.100,
}
# key: (label in the table, noun in sentences, what exactly is timed)
ROWS = {
    "cold_start": (
        "cold start",
        "cold start",
        "empty cache to server up with the migrated template ready: initdb, bootstrap, migrations, "
        "cache copies, start (Provisioner.provision in a brand-new home each time)",
    ),
    "warm_start": ("warm start", "warm start", "cache hit to server up (Provisioner.provision, same home)"),
    "db_isolation": (
        "db isolation, per test",
        "db isolation per test",
        "the `db` fixture: a force_rollback transaction around `select 1` on an open connection to a clone",
    ),
    "fresh_clone": (
        "fresh clone, per test",
        "a fresh clone per test",
        "the `fresh_db` fixture: create_from_template(p3t_migrated) + connect + drop",
    ),
    "pool_handout": (
        "pool handout, per test",
        "the pool's handout",
        "with the pool (setting `pool`, its keeper thread running): DatabaseFactory.create of p3t_migrated, a ready "
        "clone renamed to the test's name; the test before handed its clone back untouched, 20 ms earlier",
    ),
    "pool_per_test": (
        "pooled fresh clone, per test",
        "a pooled fresh clone per test",
        "the `fresh_db` fixture with the pool: handout + connect + close + hand back (the keeper drops or pools it "
        "again, away from the test)",
    ),
    "supabase_db_reset": (
        "supabase db reset",
        "supabase db reset",
        "`supabase db reset --db-url ... --yes` run in a copy of the project, against a database of the warm "
        "server (CLI start-up included, as a user pays it)",
    ),
    "naive_run_setup": (
        "naive run setup",
        "the naive run setup",
        "per run: initdb + pg_ctl -w start (default settings, data under /var/tmp) + bootstrap SQL + "
        "migration files, plain psycopg",
    ),
    "naive_per_test": (
        "naive per-test database",
        "a naive per-test database",
        "per test: create database from template1 + bootstrap SQL + migration files + drop, on the naive server",
    ),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="samples per figure; the median is shown (default 5)")
    parser.add_argument(
        "--supabase-dir", type=Path, default=DEFAULT_PROJECT, help=f"the project's supabase/ folder ({DEFAULT_PROJECT})"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--cli", type=Path, default=DEFAULT_CLI, help=f"Supabase CLI (default {DEFAULT_CLI})")
    parser.add_argument(
        "--seed-scales", default="1,50", help="seeding scales to measure on the Phase 3 schema (default 1,50)"
    )
    parser.add_argument(
        "--profile-rows",
        default="100000,1000000,3000000",
        help="row counts to time `phase3test profile` at, against doing it by hand (default 100000,1000000,3000000;"
        " empty: skip)",
    )
    parser.add_argument(
        "--gate-migrations",
        default="30,100,300",
        help="sizes of the generated projects `phase3test check` is timed on, in migrations (default 30,100,300;"
        " empty: skip)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.profile_rows = _counts(parser, "--profile-rows", args.profile_rows)
    args.gate_migrations = _counts(parser, "--gate-migrations", args.gate_migrations)
    args.supabase_dir = args.supabase_dir.resolve()
    return args


def _counts(parser: argparse.ArgumentParser, option: str, text: str) -> tuple[int, ...]:
    """A list of positive whole numbers separated by commas (empty: none)."""
    try:
        counts = tuple(int(count) for count in text.split(",") if count.strip())
    except ValueError:
        parser.error(f"{option} takes whole numbers separated by commas, not {text!r}")
    if any(count < 1 for count in counts):
        parser.error(f"{option}: the numbers are positive")
    return counts


def progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def _entry(key: str, **fields: object) -> dict[str, object]:
    label, noun, description = ROWS[key]
    return {"label": label, "noun": noun, "description": description, **fields}


def _measurement(key: str, stats: Stats, **extra: object) -> dict[str, object]:
    return _entry(key, **stats.to_json(), goal=GOALS[key], goal_met=stats.median < GOALS[key], **extra)


def _baseline(key: str, measure: object) -> dict[str, object]:
    """Run a baseline; a failure is reported in the output, never raised."""
    try:
        stats = measure()  # type: ignore[operator]
    except Exception as exc:
        return _entry(key, status="failed", error=f"{type(exc).__name__}: {exc}".strip())
    return _entry(key, status="ok", stats=stats.to_json())


def collect(scratch: Scratch, args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    tools = ours.Toolchain.resolve(args.supabase_dir)
    n = args.repeat
    results: dict = {  # type: ignore[type-arg]
        "schema_version": 1,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "postgres": {
            "version": tools.binaries.version,
            "bindir": str(tools.binaries.bindir),
            "source": tools.binaries.source,
            "run_as": tools.run_as.name,
        },
        "project": {"supabase_dir": str(args.supabase_dir), "migrations": tools.migrations},
        "repeat": n,
        "measurements": {},
        "baselines": {},
        "notes": [tools.warning] if tools.warning else [],
    }
    measurements, baselines = results["measurements"], results["baselines"]

    progress(f"phase3test: cold starts (x{n}), then warm starts (x{n})")
    starts, warm = ours.measure_starts(scratch, tools, n)
    measurements["cold_start"] = _measurement("cold_start", starts.cold, breakdown=starts.cold_breakdown)
    measurements["warm_start"] = _measurement("warm_start", starts.warm)
    results["notes"] += starts.notes
    progress("phase3test: db isolation and fresh clones per test")
    measurements["db_isolation"] = _measurement("db_isolation", ours.measure_db_isolation(warm, n))
    measurements["fresh_clone"] = _measurement("fresh_clone", ours.measure_fresh_clone(warm, n))
    pooled = ours.measure_pool(warm, n)
    measurements["pool_handout"] = _measurement("pool_handout", pooled.handout, pool=asdict(pooled.counts))
    measurements["pool_per_test"] = _measurement("pool_per_test", pooled.per_test)

    progress(f"baseline: supabase db reset ({args.cli})")
    try:
        cli = cli_reset.measure(scratch, args.cli, args.supabase_dir, warm.provisioned.target, n)
    except Exception as exc:
        cli = cli_reset.CliResult("failed", error=f"{type(exc).__name__}: {exc}")
    baselines["supabase_db_reset"] = _entry("supabase_db_reset", **cli.to_json())
    warm.run.destroy()  # the naive server gets the machine to itself

    progress("baseline: naive run setup (initdb + pg_ctl + SQL files)")
    naive_servers: list[naive.NaiveServer] = []

    def run_setup() -> Stats:
        stats, server = naive.measure_run_setup(scratch, warm.binaries, tools.run_as, tools.project.migrations_dir, n)
        naive_servers.append(server)
        return stats

    baselines["naive_run_setup"] = _baseline("naive_run_setup", run_setup)
    if naive_servers:
        progress("baseline: naive per-test database")
        server = naive_servers[0]
        baselines["naive_per_test"] = _baseline(
            "naive_per_test", lambda: naive.measure_per_test(server, tools.project.migrations_dir, n)
        )
        server.stop()
    else:
        baselines["naive_per_test"] = _entry("naive_per_test", status="failed", error="the naive server did not start")

    scales = tuple(int(scale) for scale in args.seed_scales.split(",") if scale.strip())
    for key, what, measure in (
        ("seeding", "seeding", seeding.measure_seeding),
        ("matviews", "materialized views", matviews.measure_matviews),
    ):
        progress(f"{what} on the Phase 3 schema at scales {', '.join(map(str, scales))}")
        try:
            results[key] = measure(scratch, scales)
        except Exception as exc:  # reported, like a failing baseline, never raised
            results["notes"].append(f"{what} could not be measured: {type(exc).__name__}: {exc}")
            results[key] = {}
    row_counts = args.profile_rows
    results["profiling"] = {}
    if row_counts:
        progress(f"phase3test profile at {', '.join(f'{rows:,}' for rows in row_counts)} rows, and by hand")
        try:
            results["profiling"] = profiling.measure_profiling(scratch, row_counts, n)
        except Exception as exc:
            results["notes"].append(f"the profile could not be measured: {type(exc).__name__}: {exc}")
    results["gate_scale"] = {}
    if args.gate_migrations:
        try:
            results["gate_scale"] = gate_scale.measure_gate_scale(scratch, args.gate_migrations, progress)
        except Exception as exc:
            results["notes"].append(f"the gate at scale could not be measured: {type(exc).__name__}: {exc}")
    results["ratios"] = report.ratios(results)
    results["elapsed"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with Scratch() as scratch:
            results = collect(scratch, args)
            progress("cleaning up")
    except KeyboardInterrupt:
        print("interrupted: every server and folder the benchmark started was stopped and removed", file=sys.stderr)
        return 130
    except (ours.BenchError, Phase3TestError) as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 1
    print(report.render(results), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
