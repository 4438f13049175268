"""Everything the benchmark creates (folders, servers, subprocesses), undone at the end, even on Ctrl-C.

Cleanups run in reverse order of registration with SIGINT/SIGTERM held off, so
a second Ctrl-C cannot cut them short. Afterwards any postgres still running
on a data directory inside one of our folders (a server interrupted between
its start and its bookkeeping) is stopped by pid, and the folders are removed
again. SIGTERM and SIGHUP are turned into KeyboardInterrupt so `finally` runs.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from phase3test.server.process import ProcessId, pids_mentioning, terminate_group


class Scratch:
    def __init__(self) -> None:
        self._cleanups: list[tuple[str, Callable[[], object]]] = []
        self.folders: list[Path] = []

    def __enter__(self) -> Scratch:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def folder(self, prefix: str, parent: str | None) -> Path:
        """A new folder under `parent`, mode 0755 so the unprivileged server user can traverse it."""
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        path.chmod(0o755)
        self.folders.append(path)
        self.defer(f"remove {path}", shutil.rmtree, path, ignore_errors=True)
        return path

    def defer(self, what: str, action: Callable[..., object], *args: object, **kwargs: object) -> None:
        self._cleanups.append((what, lambda: action(*args, **kwargs)))

    def close(self) -> None:
        held = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            while self._cleanups:
                what, action = self._cleanups.pop()
                try:
                    action()
                except Exception as exc:  # best effort: every other cleanup still runs
                    print(f"warning: cleanup failed ({what}): {exc}", file=sys.stderr)
            for pid in postgres_under(self.folders):
                terminate_group(ProcessId.of(pid))
            for path in self.folders:
                shutil.rmtree(path, ignore_errors=True)
        finally:
            for signum, handler in held.items():
                signal.signal(signum, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def postgres_under(folders: Sequence[Path]) -> list[int]:
    """Pids of postmasters (`postgres -D …`) whose command line names a path inside `folders`."""
    return sorted({pid for folder in folders for pid in pids_mentioning("postgres", "-D", str(folder))})
