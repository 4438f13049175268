"""`phase3test init`: the gate adopted on an existing Supabase repository in one command.

It finds the project's supabase/ folder (up from here as the CLI does, or
below here in a monorepo), writes `phase3test.toml` with the adoption point
(the newest migration: everything up to it is history) and the default
privileges the history was written under, then migrates and seeds a
throwaway database and writes the access matrix it enforces as a draft to
review. Nothing is overwritten without `--force`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg

from phase3test.access import draft
from phase3test.access.inference import infer
from phase3test.errors import SetupError
from phase3test.migrations.discovery import discover
from phase3test.project import SupabaseProject, find_supabase_dir

# Supabase stopped granting new public tables to the API roles on this day: history written before it
# relied on the old default privileges.
CURRENT_GRANTS_SINCE = "20261030"
_SKIPPED_FOLDERS = {"node_modules", ".git", ".venv", "venv", "dist", "build", ".next"}


def locate(here: Path, choose: Callable[[list[Path]], Path] | None = None) -> Path:
    """The supabase/ folder to adopt: the nearest one up from `here`, else the only one below it (with
    several, `choose` picks one, or the error lists them)."""
    found = find_supabase_dir(here)
    if found is not None:
        return found
    below = _projects_below(here)
    if len(below) == 1:
        return below[0]
    if not below:
        raise SetupError(f"no supabase/config.toml in {here}, above it or below it", hint="run `supabase init` first")
    if choose is not None:
        return choose(below)
    listed = ", ".join(str(p.relative_to(here)) for p in below)
    raise SetupError(
        f"{len(below)} Supabase projects below {here}: {listed}",
        hint=f"name one: phase3test init --supabase-dir {below[0].relative_to(here)}",
    )


def repository_root(supabase_dir: Path) -> Path:
    """Where phase3test.toml goes: the git repository's top (every command in it finds the file there), or
    the folder that holds supabase/ outside git."""
    found = subprocess.run(
        ["git", "-C", str(supabase_dir), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return Path(found.stdout.strip()) if found.returncode == 0 else supabase_dir.parent


def _projects_below(here: Path) -> list[Path]:
    """Every supabase/ folder with a config.toml below `here` (dependencies and build output left out)."""
    found = []
    for folder, subfolders, files in os.walk(here):
        subfolders[:] = sorted(name for name in subfolders if name not in _SKIPPED_FOLDERS)
        if Path(folder).name == "supabase" and "config.toml" in files:
            found.append(Path(folder))
    return found


def settings_text(root: Path, supabase_dir: Path) -> str:
    """phase3test.toml for this project: where it is, its adoption point, the default privileges its history
    was applied under."""
    migrations = discover(SupabaseProject(supabase_dir).migrations_dir).migrations
    lines = [
        "# phase3test's settings (docs/adopting.md); `phase3test settings` shows each value and where it came from.",
        f'supabase_dir = "{os.path.relpath(supabase_dir, root)}"',
    ]
    if migrations:
        newest = migrations[-1].version
        lines += [
            "# Migrations up to this one ran before the gate: they are history, held to the checks of the whole",
            "# schema only. Idempotency, rollbacks and squawk hold for the files after it ([suites] sets each).",
            f'adopted_at = "{newest}"',
        ]
        if newest[:8] < CURRENT_GRANTS_SINCE:
            lines += [
                "# Production applied that history while Supabase granted new public tables to the API roles",
                "# (before 2026-10-30): the gate replays it that way, and the files after it as Supabase runs",
                "# them today, where each table the API serves needs its own grant.",
                f'legacy_grants_until = "{newest}"',
            ]
    return "\n".join(lines) + "\n"


def refuse_overwrite(paths: list[Path], force: bool) -> None:
    """init never replaces a reviewed file by accident."""
    existing = [path for path in paths if path.exists()]
    if existing and not force:
        raise SetupError(f"{', '.join(map(str, existing))} already exist(s)", hint="pass --force to write them again")


def write_matrix(conn: psycopg.Connection, project: SupabaseProject, path: Path, source: str) -> str:
    """Infer the matrix on this seeded database, write the draft; one line saying what was written."""
    inferred = infer(conn, project.api_schemas())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.render(inferred, source), encoding="utf-8")
    return (
        f"{path}: {len(inferred.tables)} table(s), {len(inferred.functions)} function(s), "
        f"{len(inferred.roles)} role(s) ({', '.join(inferred.roles)}), {len(inferred.cells())} cells, "
        f"{draft.unconfirmed(inferred)} UNCONFIRMED"
    )
