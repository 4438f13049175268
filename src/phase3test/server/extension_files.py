"""Extensions a project ships as files, made installable without touching the system's PostgreSQL.

Projects' pgTAP files say `create extension "<vendor>-supabase_test_helpers"`, an extension their CI
installs from a package manager. Here they ship it as PGXS files (`<name>.control`, `<name>--<version>.sql`)
in `<supabase>/test-extensions/`. PostgreSQL 15 reads extension files from one folder only, found relative
to the running `postgres` executable once symlinks are resolved. So the run uses a private installation tree
in the cache: a copy of the bin folder, the share folder as links to the real entries, an `extension/`
folder of links plus the project's files, and the lib folder as a link. The copied server finds everything
where it looks, and the system's folders are never written to.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from filelock import FileLock

from phase3test.server.binaries import PgBinaries
from phase3test.server.runas import make_world_readable

FOLDER = "test-extensions"


def shipped_files(folder: Path) -> list[Path]:
    """The extension files in `folder`: control files and the SQL scripts beside them."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.suffix in (".control", ".sql") and path.is_file())


def with_extension_files(binaries: PgBinaries, files: list[Path], cache_root: Path) -> PgBinaries:
    """`binaries`, or, with `files`, the same server in a private tree whose extension folder also holds them
    (built once per server and file contents, in the cache)."""
    if not files:
        return binaries
    bindir, sharedir, pkglibdir = binaries.layout()
    anchor = Path(os.path.commonpath([bindir, sharedir, pkglibdir]))
    digest = hashlib.sha256(f"{bindir}\0{binaries.version}".encode())
    for path in files:
        digest.update(f"\0{path.name}\0".encode() + path.read_bytes())
    target = cache_root / f"pgext-{binaries.major}-{digest.hexdigest()[:16]}"
    private_bindir = target / bindir.relative_to(anchor)
    cache_root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (private_bindir / "postgres").exists():
            staging = cache_root / f".tmp-{uuid.uuid4().hex}"
            _build(staging, anchor, bindir, sharedir, pkglibdir, files)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
    return PgBinaries(private_bindir, binaries.version, binaries.major, f"{binaries.source} + {FOLDER}")


def _build(staging: Path, anchor: Path, bindir: Path, sharedir: Path, pkglibdir: Path, files: list[Path]) -> None:
    shutil.copytree(bindir, staging / bindir.relative_to(anchor))  # real copies: postgres resolves symlinks
    private_lib = staging / pkglibdir.relative_to(anchor)
    private_lib.parent.mkdir(parents=True, exist_ok=True)
    private_lib.symlink_to(pkglibdir)
    private_share = staging / sharedir.relative_to(anchor)
    extension = private_share / "extension"
    extension.mkdir(parents=True)
    for entry in sharedir.iterdir():
        if entry.name != "extension":
            (private_share / entry.name).symlink_to(entry)
    for entry in (sharedir / "extension").iterdir():
        (extension / entry.name).symlink_to(entry)
    for path in files:  # the project's files win over an installed one of the same name
        (extension / path.name).unlink(missing_ok=True)
        shutil.copyfile(path, extension / path.name)
    make_world_readable(staging)  # the server runs as an unprivileged user
