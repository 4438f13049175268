"""Cached, stopped clusters keyed by what went into them.

An entry is a cleanly shut down data directory plus a manifest of every file
and its size, written last. An entry whose manifest is missing, names another
key, or disagrees with the files on disk is rebuilt, never trusted. Builds
happen under a file lock into a staging folder renamed into place, so
concurrent runs build an entry once and never see half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from phase3test.errors import ServerError
from phase3test.server.runas import RunAs

MANIFEST = "manifest.json"
KEEP_ENTRIES = 6  # tmpfs is memory: keep the most recently used entries only


class ClusterCache:
    """Entries live in `root/<key>/{data,manifest.json}`."""

    def __init__(self, root: Path, run_as: RunAs) -> None:
        self.root = root
        self.run_as = run_as

    def get_or_build(self, key: str, build: Callable[[Path], None]) -> Path:
        """Return the entry's data directory, building it with `build(datadir)` if needed."""
        entry = self.root / key
        with FileLock(str(entry) + ".lock"):
            if self.is_valid(entry, key):
                os.utime(entry)
                return entry / "data"
            shutil.rmtree(entry, ignore_errors=True)
            staging = self.root / f".staging-{key}-{uuid.uuid4().hex[:8]}"
            staging.mkdir(mode=0o755)
            try:
                build(staging / "data")
                (staging / MANIFEST).write_text(json.dumps({"key": key, "files": _listing(staging / "data")}))
                try:
                    staging.rename(entry)
                except OSError:
                    # Another process built it meanwhile (it waited on a lock file a prune had just removed).
                    if not self.is_valid(entry, key):
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self.prune()
        return entry / "data"

    def is_valid(self, entry: Path, key: str) -> bool:
        try:
            manifest = json.loads((entry / MANIFEST).read_text())
        except (OSError, ValueError):
            return False
        return manifest.get("key") == key and manifest.get("files") == _listing(entry / "data")

    def discard(self, key: str) -> None:
        """Drop an entry found wanting after use (e.g. the server would not start from it)."""
        with FileLock(str(self.root / key) + ".lock"):
            shutil.rmtree(self.root / key, ignore_errors=True)

    def clone(self, datadir: Path, target: Path) -> None:
        """Copy an entry's data directory to `target`, owned by the server user."""
        self.run_as.private_dir(target)
        result = subprocess.run(
            ["cp", "-a", f"{datadir}/.", str(target)],
            capture_output=True,
            text=True,
            cwd="/",
            **self.run_as.popen_kwargs(),
        )
        if result.returncode != 0:
            raise ServerError(f"could not copy cached cluster {datadir} to {target}: {result.stderr}")

    def prune(self) -> None:
        """Remove all but the most recently used entries, with their lock files, and lock files whose entry is
        gone (a build that failed, an older version's prune)."""
        entries = sorted(
            (p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        kept = {entry.name for entry in entries[:KEEP_ENTRIES]}
        for stale in entries[KEEP_ENTRIES:]:
            _remove_unused(stale)
        for lock_file in self.root.glob("*.lock"):
            if lock_file.name.removesuffix(".lock") not in kept and not lock_file.with_suffix("").exists():
                _remove_unused(lock_file.with_suffix(""))


def _remove_unused(entry: Path) -> None:
    """Remove an entry (if any) and its lock file, unless a concurrent run holds the lock."""
    lock_file = Path(str(entry) + ".lock")
    lock = FileLock(str(lock_file))
    try:
        lock.acquire(timeout=0)
    except TimeoutError:
        return  # in use by a concurrent run
    try:
        shutil.rmtree(entry, ignore_errors=True)
        lock_file.unlink(missing_ok=True)
    finally:
        lock.release()


def _listing(datadir: Path) -> dict[str, int]:
    """Every file under the data directory with its size."""
    files: dict[str, int] = {}
    for folder, _dirs, names in os.walk(datadir):
        for name in names:
            path = os.path.join(folder, name)
            files[os.path.relpath(path, datadir)] = os.lstat(path).st_size
    return files
