"""Removing what a run left on disk, whatever kind of entry it is."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path


def remove(path: Path) -> None:
    """Remove a folder or a file, whichever it is; gone already is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
