"""Initialise, start and stop one PostgreSQL cluster, fast.

Speed choices (throwaway data only): `initdb -N`, 1 MB WAL segments, fsync,
synchronous_commit and full_page_writes off, JIT off. `postgres` is started
directly in its own session and readiness is polled, which is faster than
`pg_ctl -w` and keeps a Ctrl-C aimed at pytest from killing it mid-teardown.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from phase3test.errors import ServerError
from phase3test.server import watchdog
from phase3test.server.binaries import PgBinaries
from phase3test.server.process import ProcessId, interrupts_deferred, terminate_group
from phase3test.server.runas import RunAs

SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP only: socket paths are capped at 107 bytes
    "dynamic_shared_memory_type": "mmap",  # segments live in the data dir, removed with it
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "jit": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
    "log_min_messages": "warning",
    "logging_collector": "off",
}
INITDB_ARGS = ("-N", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--wal-segsize=1")
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class RunningServer:
    """Everything needed to reach, and later stop, a started server."""

    process: ProcessId
    port: int
    datadir: Path
    log: Path
    version: str

    def conninfo(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return loopback_dsn(self.port, dbname, user)

    def to_json(self) -> dict[str, object]:
        return {
            "process": self.process.to_json(),
            "port": self.port,
            "datadir": str(self.datadir),
            "log": str(self.log),
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: dict) -> RunningServer:  # type: ignore[type-arg]
        return cls(
            ProcessId.from_json(data["process"]),
            int(data["port"]),
            Path(data["datadir"]),
            Path(data["log"]),
            str(data["version"]),
        )


def loopback_dsn(port: int, dbname: str = "postgres", user: str = "postgres") -> str:
    """The URL of a database on a server started here (loopback only, trust auth)."""
    return f"postgresql://{user}@127.0.0.1:{port}/{dbname}"


def initdb(binaries: PgBinaries, datadir: Path, run_as: RunAs) -> None:
    """Create a cluster in `datadir` (which must not exist yet)."""
    run_as.private_dir(datadir)
    result = subprocess.run(
        [str(binaries.tool("initdb")), "-D", str(datadir), *INITDB_ARGS],
        capture_output=True,
        text=True,
        cwd="/",
        **run_as.popen_kwargs(),
    )
    if result.returncode != 0:
        raise ServerError(
            f"initdb failed ({binaries.bindir}, running as {run_as.name}):\n{result.stdout}{result.stderr}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    binaries: PgBinaries,
    datadir: Path,
    workdir: Path,
    run_as: RunAs,
    guard_owner: ProcessId | None,
    cleanup: list[Path],
    on_spawn: Callable[[RunningServer], None] = lambda _server: None,
) -> RunningServer:
    """Start postgres on a free loopback port and wait until it accepts connections.

    `on_spawn` records the new process before anything can interrupt us; with
    `guard_owner`, a watchdog stops the server and removes `cleanup` if that
    process dies without doing so itself. An interrupt while waiting stops it.
    """
    log = workdir / "postgres.log"
    for _attempt in range(5):
        port = free_port()
        settings = [arg for key, value in SERVER_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        with interrupts_deferred(), log.open("ab") as log_file:
            proc = subprocess.Popen(
                [str(binaries.tool("postgres")), "-D", str(datadir), "-p", str(port), *settings],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
                **run_as.popen_kwargs(),
            )
            server = RunningServer(ProcessId.of(proc.pid), port, datadir, log, binaries.version)
            on_spawn(server)
            if guard_owner is not None:
                watchdog.spawn(guard_owner, server.process, cleanup)
        try:
            ready = _wait_ready(server, proc)
        except BaseException:
            terminate_group(server.process)
            raise
        if ready:
            return server
        if "Address already in use" not in _tail(log):
            raise ServerError(f"PostgreSQL did not start; last lines of {log}:\n{_tail(log)}")
    raise ServerError(f"PostgreSQL could not find a free port; last lines of {log}:\n{_tail(log)}")


def _wait_ready(server: RunningServer, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            psycopg.connect(server.conninfo(), connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            time.sleep(0.005)
    raise ServerError(f"PostgreSQL did not accept connections within {START_TIMEOUT:.0f}s:\n{_tail(server.log)}")


def stop(server: RunningServer) -> None:
    """Fast shutdown (clean, so the data directory can be cached), kill if it hangs."""
    terminate_group(server.process)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
