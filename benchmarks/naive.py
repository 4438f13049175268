"""Baseline: the straightforward setup a team writes first, with none of phase3test's tricks.

Per run: `initdb` (default settings: fsync on, 16 MB WAL segments), `pg_ctl -w
start`, data in an ordinary folder under /var/tmp, then the bootstrap SQL and
every migration file executed as it is with psycopg, each whole in its own
implicit transaction (as a multi-statement query runs; a file that holds only
`create index concurrently` then runs too).
Per test: `create database` from `template1`, bootstrap, migrations, drop.
Only what is needed to run at all is set: the superuser name, trust auth, a
loopback port and a socket folder the server user may write.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from measure import Stats, per_operation, stopwatch
from psycopg import sql
from scratch import Scratch

from phase3test.migrations.discovery import discover
from phase3test.server import watchdog
from phase3test.server.binaries import PgBinaries
from phase3test.server.executor import free_port
from phase3test.server.process import ProcessId
from phase3test.server.runas import RunAs
from phase3test.supabase.bootstrap import BOOTSTRAP_SQL


@dataclass
class NaiveServer:
    binaries: PgBinaries
    run_as: RunAs
    datadir: Path
    port: int = 0

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run([str(self.binaries.tool("pg_ctl")), "-D", str(self.datadir), *args], self.run_as)

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self.pg_ctl("-m", "fast", "-w", "stop")


def _run(command: list[str], run_as: RunAs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, cwd="/", **run_as.popen_kwargs())
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed:\n{result.stdout}{result.stderr}")
    return result


def apply_schema(conninfo: str, files: list[str]) -> None:
    """Bootstrap and migrations, each file executed whole, committed when it ends."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for text in (BOOTSTRAP_SQL, *files):
            conn.execute(text)


def migration_texts(migrations_dir: Path) -> list[str]:
    return [m.text for m in discover(migrations_dir).migrations]


def start_run(scratch: Scratch, binaries: PgBinaries, run_as: RunAs, files: list[str]) -> tuple[float, NaiveServer]:
    """One run's setup, timed: initdb, pg_ctl -w start, bootstrap, migrations. The server is left running."""
    folder = scratch.folder("p3t-bench-naive-", "/var/tmp")
    server = NaiveServer(binaries, run_as, folder / "data")
    scratch.defer(f"stop the naive server in {folder}", server.stop)
    with stopwatch() as watch:
        run_as.private_dir(server.datadir)
        _run([str(binaries.tool("initdb")), "-D", str(server.datadir), "-U", "postgres", "-A", "trust"], run_as)
        server.port = free_port()
        options = f"-p {server.port} -h 127.0.0.1 -k {server.datadir}"
        server.pg_ctl("-w", "-l", str(server.datadir / "server.log"), "-o", options, "start")
        apply_schema(server.conninfo(), files)
    # untimed: the same orphan guard phase3test's servers get, should we be killed outright
    pid = int((server.datadir / "postmaster.pid").read_text().split()[0])
    watchdog.spawn(ProcessId.of_self(), ProcessId.of(pid), [folder])
    return watch.elapsed, server


def measure_run_setup(
    scratch: Scratch, binaries: PgBinaries, run_as: RunAs, migrations_dir: Path, times: int
) -> tuple[Stats, NaiveServer]:
    """Run setups, each on a new cluster; the last server stays up for the per-test baseline."""
    files = migration_texts(migrations_dir)
    samples = []
    server: NaiveServer | None = None
    for _ in range(times):
        if server is not None:  # one cluster at a time: each takes tens of MB under /var/tmp
            server.stop()
            shutil.rmtree(server.datadir.parent, ignore_errors=True)
        elapsed, server = start_run(scratch, binaries, run_as, files)
        samples.append(elapsed)
    assert server is not None
    return Stats(tuple(samples)), server


def measure_per_test(server: NaiveServer, migrations_dir: Path, times: int) -> Stats:
    """Per test: create database (from template1), bootstrap, migrations, drop."""
    files = migration_texts(migrations_dir)
    counter = itertools.count(1)
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:

        def one_test() -> None:
            name = f"naive_test_{next(counter)}"
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            try:
                apply_schema(server.conninfo(name), files)
            finally:
                admin.execute(sql.SQL("drop database {}").format(sql.Identifier(name)))

        return per_operation(one_test, times, batch=1, warmup=1)
