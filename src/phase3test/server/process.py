"""Process identity and shutdown for processes we may not be the parent of.

A pid alone can be reused, so a process is named by (pid, start time); a zombie
counts as gone. Waiting uses a pidfd where Linux has one, polling elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessId:
    """A process as it was when we met it: pid plus kernel start time."""

    pid: int
    start: str | None

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        return cls(pid, start_time(pid))

    @classmethod
    def of_self(cls) -> ProcessId:
        return cls.of(os.getpid())

    def alive(self) -> bool:
        current = start_time(self.pid)
        if current is None:
            return _exists(self.pid) and not _is_zombie(self.pid)
        return current == self.start and not _is_zombie(self.pid)

    def to_json(self) -> dict[str, int | str | None]:
        return {"pid": self.pid, "start": self.start}

    @classmethod
    def from_json(cls, data: dict) -> ProcessId:  # type: ignore[type-arg]
        return cls(int(data["pid"]), data.get("start"))


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (ticks since boot); None where /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    Used between starting a process and recording it, so a Ctrl-C can never
    leave a process that nothing knows about. Only the main thread can hold
    signals; elsewhere the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _frame: received.append(signum)) for signum in _HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


_HELD = (signal.SIGINT, signal.SIGTERM)


def wait_gone(proc: ProcessId, timeout: float) -> bool:
    """Wait until the process has exited; True if it did within `timeout`."""
    deadline = time.monotonic() + timeout
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        fd = None
    try:
        while proc.alive():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if fd is not None:
                select.select([fd], [], [], min(remaining, 0.5))
            else:
                time.sleep(min(remaining, 0.02))
    finally:
        if fd is not None:
            os.close(fd)
    _reap_if_child(proc.pid)
    return True


def _reap_if_child(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def terminate_group(proc: ProcessId, grace: float = 10.0) -> None:
    """Ask a process-group leader to stop (SIGINT: Postgres' fast shutdown), then kill the group."""
    if not proc.alive():
        _reap_if_child(proc.pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGINT)
    if wait_gone(proc, grace):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    wait_gone(proc, 5.0)


def pids_mentioning(*needles: str) -> list[int]:
    """Pids whose command line contains every needle (how tests and tools find leftover servers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(needle in cmdline for needle in needles):
            found.append(int(entry.name))
    return found
