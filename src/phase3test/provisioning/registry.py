"""Where runs keep their files, and finding runs whose owner died.

Every run (a pytest session, `phase3test up`, a cache build) gets its own
folder under `runs/` with a `run.json` naming its owner process and, once
started, its server. Separate folders and ports keep concurrent runs apart;
a run whose owner is gone is stopped and removed by the next one that looks.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from phase3test.errors import SetupError
from phase3test.server import container
from phase3test.server.executor import RunningServer, stop
from phase3test.server.files import remove
from phase3test.server.process import ProcessId

RUN_FILE = "run.json"


def base_dir(home: Path | None) -> Path:
    """Per-user root under `home` (the `home` setting), else /dev/shm (tmpfs) or the temp folder.

    It must not sit inside a 0700 folder, or the unprivileged server user could
    not reach its data directory: /root/.cache would be wrong.
    """
    if home is not None:
        root = home
    elif os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        root = Path("/dev/shm")
    else:
        root = Path(tempfile.gettempdir())
    base = root / f"phase3test-{os.geteuid()}"
    try:
        base.mkdir(mode=0o755, parents=True, exist_ok=True)
        for folder in (base / "runs", base / "cache"):
            folder.mkdir(mode=0o755, exist_ok=True)
    except OSError as exc:
        raise SetupError(
            f"cannot keep servers and the cache under {root}: {exc.strerror}",
            hint="set the home setting (--pg-home, PHASE3TEST_HOME) to a folder you may write",
        ) from None
    return base


@dataclass
class RunDir:
    """One run's folder and its record."""

    path: Path

    @classmethod
    def create(cls, base: Path, owner: ProcessId, keep: bool = False, run_id: str | None = None) -> RunDir:
        """Create the run's folder; with a shared `run_id`, the first process to ask creates it."""
        run = cls(base / "runs" / (run_id or new_run_id()))
        with FileLock(run.lock_path):
            run.path.mkdir(mode=0o755, exist_ok=run_id is not None)
            if not (run.path / RUN_FILE).exists():
                run.write({"owner": owner.to_json(), "keep": keep, "server": None})
        return run

    @property
    def lock_path(self) -> str:
        """Beside the folder, so creating the folder itself can be serialised."""
        return str(self.path.parent / f".{self.path.name}.lock")

    def read(self) -> dict:  # type: ignore[type-arg]
        return json.loads((self.path / RUN_FILE).read_text())

    def write(self, record: dict) -> None:  # type: ignore[type-arg]
        """Atomically, readable by this user only: an external server's URL may carry a password."""
        staging = self.path / f".{RUN_FILE}.{os.getpid()}"
        with open(os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(json.dumps(record, indent=2))
        staging.replace(self.path / RUN_FILE)

    @property
    def paths(self) -> list[Path]:
        """Everything the run leaves on disk: its folder and the lock beside it."""
        return [self.path, Path(self.lock_path)]

    def record_server(self, server: RunningServer) -> None:
        record = self.read()
        record["server"] = server.to_json()
        self.write(record)

    def discard_data(self, datadir: Path) -> None:
        """Forget a server that failed and remove the data directory it ran on."""
        record = self.read()
        record["server"] = None
        self.write(record)
        shutil.rmtree(datadir, ignore_errors=True)

    def destroy(self) -> None:
        """Stop the run's server if it still runs and remove every file it made."""
        try:
            record = self.read()
        except (OSError, ValueError):
            record = {}
        if record.get("server"):
            stop(RunningServer.from_json(record["server"]))
        started_container = (record.get("provisioned") or {}).get("container")
        if started_container:  # the docker backend's
            container.remove(started_container)
        for path in self.paths:
            remove(path)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def runs(base: Path) -> list[RunDir]:
    return [RunDir(p) for p in sorted((base / "runs").iterdir()) if p.is_dir()]


def reap_orphans(base: Path, include_kept: bool = False) -> list[Path]:
    """Stop and remove runs whose owner is gone (and, when asked, kept ones); return them."""
    removed = []
    for lock in (base / "runs").glob(".*.lock"):
        if not (base / "runs" / lock.name[1:-5]).exists():
            remove(lock)  # left by a run removed before it could tidy up
    for run in runs(base):
        try:
            record = run.read()
        except (OSError, ValueError):
            record = None
        if record is None:
            continue  # being created right now, or not ours to judge
        kept = bool(record.get("keep"))
        owner_gone = not ProcessId.from_json(record["owner"]).alive()
        if owner_gone and (include_kept or not kept):
            run.destroy()
            removed.append(run.path)
    return removed
