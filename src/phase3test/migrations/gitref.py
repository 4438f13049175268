"""Migrations as they stand on a git ref: the history a pull request must not rewrite.

On a project whose main branch is what production runs, every migration file
on that branch has been (or will be) applied. A pull request may add files
after them, never edit, delete or slip one in before them; comparing the
working tree with the ref tells, before any database has seen the change.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from phase3test.errors import SetupError
from phase3test.migrations.discovery import FILE_RULE


def files_on_ref(migrations_dir: Path, ref: str) -> dict[str, str]:
    """{version: file name} of the migration files in `migrations_dir` on `ref`: one `git ls-tree`, no content
    read (which files production has applied is all the history needs)."""
    listing = _git(migrations_dir, "ls-tree", "-z", "--name-only", ref, "--", ".", ref=ref)
    names = (Path(name).name for name in filter(None, listing.decode().split("\0")))  # -z: never quoted
    return {match.group(1): name for name in names if (match := FILE_RULE.match(name))}


def checksums_on_ref(migrations_dir: Path, ref: str) -> dict[str, str]:
    """{version: sha256} of the migration files in `migrations_dir` as committed on `ref`."""
    return {
        version: hashlib.sha256(_git(migrations_dir, "show", f"{ref}:./{name}", ref=ref)).hexdigest()
        for version, name in files_on_ref(migrations_dir, ref).items()
    }


def _git(folder: Path, *args: str, ref: str) -> bytes:
    try:
        result = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise SetupError("git is not installed", hint="install git, or drop the base ref option") from exc
    if result.returncode != 0:
        raise SetupError(
            f"cannot read {folder} at git ref {ref!r}: {result.stderr.decode().strip()}",
            hint="fetch the ref first (e.g. `git fetch origin main`) or pass another with --pg-base-ref",
        )
    return result.stdout
