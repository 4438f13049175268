"""What `phase3test profile` costs as the rows grow, and what the same check costs done by hand.

A small project of our own (`public.events`, a few thousand rows from
seed.sql, and a typical new migration: an index built in place, a column with
a constant default, a check constraint added `not valid` then validated) is
provisioned once like a `phase3test profile` run's server (seeded template
included); then at each row count `profile_each` runs on it, the same call
the command makes, so a figure is what a user waits for once the server is
up (the server's start is its own line). Where the time goes is read by
wrapping the profile's own steps: growing the tables, the measured applies
(each on a fresh clone: at seed scale, at half and at all of the rows), the
pass under readers and writers; the rest is the rolled-back clone and the
bookkeeping.

The baseline, at the same row count and on the same server, is what a team
does without the tool: a copy of the table filled with `insert ... select
... generate_series`, and the migration applied once as plain SQL.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import psycopg
from measure import stopwatch
from ours import SHM, Toolchain, start
from scratch import Scratch

from phase3test.migrations.discovery import discover
from phase3test.profiling import run as profile_run
from phase3test.profiling.scale import RowCounts
from phase3test.profiling.workload import Workload
from phase3test.provisioning.registry import base_dir
from phase3test.provisioning.run import seeding_plan
from phase3test.provisioning.templates import EMPTY, SEEDED, in_their_era
from phase3test.server.target import Target
from phase3test.settings import load
from phase3test.supabase.platform import Platform

BUDGET_S = 150.0  # no further repeats at a row count once its profiles took this long: 3M rows take minutes
PARTS = ("grow", "measured applies", "workload pass", "other")
KINDS = "'signup', 'login', 'purchase', 'refund', 'logout'"
TABLE = """create table public.events (
  id         bigint generated always as identity primary key,
  ref        uuid not null default gen_random_uuid() unique,
  kind       text not null,
  payload    jsonb not null default '{}',
  created_at timestamptz not null default now()
);
"""
MIGRATION = f"""-- A typical new migration, each step written the safe way but for the index built in place.
set lock_timeout = '5s';
create index events_created_at_idx on public.events (created_at);
alter table public.events add column source text not null default 'api';
alter table public.events add constraint events_kind_known check (kind in ({KINDS})) not valid;
alter table public.events validate constraint events_kind_known;
"""
FILL = f"""insert into public.events (kind, payload, created_at)
select (array[{KINDS}])[1 + n % 5], jsonb_build_object('n', n, 'page', '/p/' || n % 97),
       timestamptz '2026-01-01' + n * interval '1 second'
from generate_series(1, %s) as n"""
FILES = {
    "config.toml": 'project_id = "bench-profile"\n\n[db]\nmajor_version = 15\n',
    "migrations/20240101000000_events.sql": TABLE,
    "migrations/20240102000000_events_source.sql": MIGRATION,
    "rollbacks/20240101000000_events.down.sql": "drop table if exists public.events;\n",
    "rollbacks/20240102000000_events_source.down.sql": (
        "alter table public.events drop constraint if exists events_kind_known;\n"
        "alter table public.events drop column if exists source;\n"
        "drop index if exists public.events_created_at_idx;\n"
    ),
    "seed.sql": FILL.replace("%s", "5000") + ";\n",
}
PYTEST_INI = "[pytest]\nphase3test_supabase_dir = supabase\n"  # what `phase3test init` would set, no seeders


def write_project(folder: Path) -> Path:
    """The project's supabase/ folder, written under `folder`."""
    supabase = folder / "supabase"
    for relative, text in FILES.items():
        (supabase / relative).parent.mkdir(parents=True, exist_ok=True)
        (supabase / relative).write_text(text)
    (folder / "pytest.ini").write_text(PYTEST_INI)
    return supabase


def measure_profiling(scratch: Scratch, row_counts: tuple[int, ...], repeat: int) -> dict[str, object]:
    """{server_start_s, seed_rows, migration, scales: {rows: {samples, parts, baseline: {samples, fill, apply}}}}."""
    folder = scratch.folder("p3t-bench-profile-", SHM)
    supabase = write_project(folder / "project")
    with contextlib.chdir(supabase.parent):  # its own settings, not those of the repository we run from
        settings = load()
        tools = Toolchain.resolve(supabase)
    base = base_dir(folder)
    elapsed, provisioned, run = start(scratch, tools.provisioner(base, seeding_plan(settings)), base)
    try:
        if not provisioned.seeded:
            raise RuntimeError(f"the benchmark project was not seeded: {provisioned.seed_error}")
        target = provisioned.target
        chain = in_their_era(discover(settings.project.migrations_dir).migrations, Platform())
        scales: dict[str, object] = {}
        for rows in row_counts:
            samples, parts = [], []
            while len(samples) < repeat and (not samples or sum(samples) < BUDGET_S):
                with _timed_parts() as split, stopwatch() as watch:
                    (measured,) = profile_run.profile_each(
                        target,
                        target.template(SEEDED),
                        chain,
                        chain[-1:],
                        settings.project,
                        RowCounts(rows),
                        settings.production_rows,
                    )
                samples.append(watch.elapsed)
                parts.append(split | {"other": watch.elapsed - sum(split.values())})
            grown = max((g.after for g in measured.growth), default=0)
            fills, applies = zip(*(_by_hand(target, rows) for _ in samples), strict=True)
            median, by_hand = statistics.median(samples), [f + a for f, a in zip(fills, applies, strict=True)]
            scales[str(rows)] = {
                "samples": samples,
                "median": median,
                "min": min(samples),
                "max": max(samples),
                "grown_to": grown,
                "profile_ms": measured.ms,
                "parts": {part: statistics.median(p[part] for p in parts) for part in PARTS},
                "ratio": median / statistics.median(by_hand),
                "baseline": {
                    "samples": by_hand,
                    "median": statistics.median(by_hand),
                    "fill": statistics.median(fills),
                    "apply": statistics.median(applies),
                },
            }
    finally:
        run.destroy()
    return {
        "growth": growth(scales),
        "server_start_s": elapsed,
        "seed_rows": 5000,
        "migration": MIGRATION,
        "repeat": repeat,
        "budget_s": BUDGET_S,
        "scales": scales,
    }


@contextlib.contextmanager
def _timed_parts() -> Iterator[dict[str, float]]:
    """Seconds spent in the profile's steps while the block runs, read by wrapping them where run.py calls them."""
    spent = {part: 0.0 for part in PARTS if part != "other"}

    def timed(part: str, step: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - started

        return wrapper

    class TimedWorkload(Workload):
        """The workload pass: readers and writers started, the file applied under them, all stopped."""

        def __enter__(self) -> TimedWorkload:
            self.started = time.perf_counter()
            super().__enter__()
            return self

        def __exit__(self, *exc: object) -> None:
            try:
                super().__exit__(*exc)
            finally:
                spent["workload pass"] += time.perf_counter() - self.started

    with (
        mock.patch.object(profile_run, "_grow", timed("grow", profile_run._grow)),
        mock.patch.object(profile_run, "_measure", timed("measured applies", profile_run._measure)),
        mock.patch.object(profile_run, "Workload", TimedWorkload),
    ):
        yield spent


def _by_hand(target: Target, rows: int) -> tuple[float, float]:
    """Without the tool: the table created on a fresh database, filled with `rows` rows, the migration applied
    once in one transaction as plain SQL; (seconds filling, seconds applying)."""
    name = target.name(f"bench_by_hand_{rows}")
    with psycopg.connect(target.conninfo(), autocommit=True) as admin:
        target.create(admin, name, target.template(EMPTY))
        try:
            with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
                conn.execute(TABLE)
                with stopwatch() as fill:
                    conn.execute(FILL.replace("%s", str(rows)))
                with stopwatch() as apply, conn.transaction():
                    conn.execute(MIGRATION)
        finally:
            target.drop(admin, name)
    return fill.elapsed, apply.elapsed


def growth(scales: dict[str, dict]) -> list[dict[str, float]]:  # type: ignore[type-arg]
    """Between consecutive row counts: seconds per million more rows, the profile's and by hand's. Equal
    slopes from one step to the next mean the cost grows linearly with the rows."""
    steps = []
    ordered = sorted(scales.items(), key=lambda item: int(item[0]))
    for (low, a), (high, b) in itertools.pairwise(ordered):
        millions = (int(high) - int(low)) / 1e6
        steps.append(
            {
                "from": int(low),
                "to": int(high),
                "profile_s_per_million": (b["median"] - a["median"]) / millions,
                "by_hand_s_per_million": (b["baseline"]["median"] - a["baseline"]["median"]) / millions,
            }
        )
    return steps
