"""Baseline: the real Supabase CLI, `supabase db reset --db-url …`, against a clone of `p3t_empty`.

The CLI needs the project's `supabase/` folder in its working directory, so it
runs in a copy, with `--yes` for its confirmation prompt. Against a remote
database it first drops every schema not owned by `supabase_admin`; our
bootstrap creates `auth` and `storage` that way, as Supabase's image does, so
the reset keeps them and applies the migrations. Its CLI start-up is included
in the figure, as a user pays it. A failure is reported, never faked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from measure import Stats, stopwatch
from scratch import Scratch

from phase3test.provisioning.templates import EMPTY_TEMPLATE
from phase3test.server import janitor
from phase3test.server.target import Target
from phase3test.supabase.cli import invoke

TIMEOUT = 180.0
DATABASE = "p3t_bench_cli_reset"


@dataclass
class CliResult:
    status: str  # "ok", "failed" or "unavailable"
    version: str | None = None
    stats: Stats | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "version": self.version,
            "error": self.error,
            **({"stats": self.stats.to_json()} if self.stats else {}),
        }


def _error_of(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
    shown = [line for line in lines if "error" in line.lower()][:2] or lines[-3:]
    return f"exit {done.returncode}: " + " | ".join(shown)


def measure(scratch: Scratch, cli: Path, supabase_dir: Path, server: Target, times: int) -> CliResult:
    if not os.access(cli, os.X_OK):
        return CliResult("unavailable", error=f"{cli} not found or not executable (run `make tools`)")
    workdir = scratch.folder("p3t-bench-cli-", None)
    shutil.copytree(supabase_dir, workdir / "supabase", ignore=shutil.ignore_patterns(".temp", ".branches"))
    version = invoke(cli, workdir, "--version", timeout=60).stdout.strip().splitlines()[-1:]
    url = f"{server.conninfo(DATABASE)}?sslmode=disable"
    samples = []
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        janitor.create_from_template(admin, DATABASE, EMPTY_TEMPLATE)
        try:
            for attempt in range(times + 1):  # the first is a warm-up: binary into the page cache
                with stopwatch() as watch:
                    done = invoke(cli, workdir, "db", "reset", "--db-url", url, "--yes", timeout=TIMEOUT)
                if done.returncode != 0:
                    return CliResult("failed", version[0] if version else None, error=_error_of(done))
                if attempt:
                    samples.append(watch.elapsed)
        finally:
            janitor.drop(admin, DATABASE)
    return CliResult("ok", version[0] if version else None, Stats(tuple(samples)))
