"""Checks that read a project's migration files without a database.

They run in milliseconds and catch what review misses: a file the Supabase
CLI would silently skip (and, as a warning, a version that is not a timestamp), a lock-heavy
statement squawk knows about.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from subprocess import CompletedProcess

from phase3test.migrations.discovery import Discovery, Migration

SQUAWK_TIMEOUT_S = 60  # one file; squawk takes milliseconds
TIMESTAMP_DIGITS = 14  # `supabase migration new` names files YYYYMMDDHHMMSS_name.sql


def naming_problems(discovery: Discovery) -> list[str]:
    """SQL files the Supabase CLI would skip: they would never reach production."""
    return [
        f"{path.name}: the Supabase CLI skips it (file names must match <digits>_name.sql)"
        for path in discovery.skipped
        if path.suffix == ".sql"
    ]


def unusual_names(discovery: Discovery) -> list[str]:
    """Versions the CLI accepts that `supabase migration new` would not write (drizzle-kit's `0000_name.sql`):
    worth a word, not a failure. Files sort by name, so mixing conventions can reorder them."""
    return [
        f"{m.path.name}: version {m.version} is not a {TIMESTAMP_DIGITS}-digit UTC timestamp (YYYYMMDDHHMMSS); "
        "the Supabase CLI accepts it and orders files by name"
        for m in discovery.migrations
        if not _is_timestamp(m.version)
    ]


def _is_timestamp(version: str) -> bool:
    try:
        datetime.strptime(version, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return len(version) == TIMESTAMP_DIGITS


@dataclass(frozen=True)
class SquawkResult:
    clean: bool
    report: str


def find_squawk() -> str | None:
    """squawk beside this Python (the squawk-cli wheel installs it there), else on PATH."""
    return shutil.which("squawk", path=str(Path(sys.executable).parent)) or shutil.which("squawk")


def squawk(squawk_bin: str, migration: Migration, project_root: Path) -> SquawkResult:
    """Lint one file with the project's `.squawk.toml` (next to supabase/) when it has one; without one, knowing
    what the Supabase CLI does: each file runs in one transaction."""
    result = _run_squawk(squawk_bin, migration, project_root, "gcc")
    return SquawkResult(result.returncode == 0, (result.stdout + result.stderr).strip())


@dataclass(frozen=True)
class SquawkNote:
    """One thing squawk says of a file: where (1-based line), which rule, and its message."""

    line: int
    rule: str
    message: str


def squawk_notes(squawk_bin: str, migration: Migration, project_root: Path) -> list[SquawkNote]:
    """What squawk says of one file, as `squawk` lints it, one note per warning (its JSON reporter counts lines
    from 0); a file squawk cannot read gives one note saying why."""
    result = _run_squawk(squawk_bin, migration, project_root, "json")
    try:
        reported = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        return [SquawkNote(1, "squawk-failed", (result.stdout + result.stderr).strip()[:500])]
    return [SquawkNote(int(note["line"]) + 1, str(note["rule_name"]), str(note["message"])) for note in reported]


def _run_squawk(squawk_bin: str, migration: Migration, project_root: Path, reporter: str) -> CompletedProcess[str]:
    config = project_root / ".squawk.toml"
    settings = ["--config", str(config)] if config.is_file() else ["--assume-in-transaction"]
    command = [squawk_bin, *settings, "--reporter", reporter, str(migration.path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=SQUAWK_TIMEOUT_S)
