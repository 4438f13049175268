"""Orphan guard: stop a server and remove its files when its owner dies.

pytest normally stops its servers itself. This small process covers the case
it cannot: the owner killed with SIGKILL, or a crash that skips every finally
block. It runs in its own session so a Ctrl-C aimed at pytest does not hit it.
Usage: python -m phase3test.server.watchdog OWNER_JSON SERVER_JSON PATH...
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from phase3test.server.files import remove
from phase3test.server.process import ProcessId, terminate_group


def spawn(owner: ProcessId, server: ProcessId, cleanup: list[Path]) -> None:
    """Start a detached guard for `server` that fires when `owner` goes away."""
    subprocess.Popen(
        [
            sys.executable,
            "-m",
            "phase3test.server.watchdog",
            json.dumps(owner.to_json()),
            json.dumps(server.to_json()),
            *map(str, cleanup),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _pidfd(proc: ProcessId) -> int | None:
    try:
        return os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return None


def watch(owner: ProcessId, server: ProcessId, cleanup: list[Path]) -> None:
    """Block until owner or server exits; if the owner went first, clean up after it."""
    fds = [fd for fd in (_pidfd(owner), _pidfd(server)) if fd is not None]
    while owner.alive() and server.alive():
        if len(fds) == 2:
            select.select(fds, [], [], 5.0)
        else:
            time.sleep(0.2)
    if owner.alive():
        return  # the owner stopped its server itself and will remove the files
    terminate_group(server)
    for path in cleanup:
        remove(path)


def main(argv: list[str]) -> None:
    owner = ProcessId.from_json(json.loads(argv[0]))
    server = ProcessId.from_json(json.loads(argv[1]))
    watch(owner, server, [Path(p) for p in argv[2:]])


if __name__ == "__main__":
    main(sys.argv[1:])
