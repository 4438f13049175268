"""The real Supabase CLI, used to cross-check our history against its reading of it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from phase3test.errors import SetupError


def find_cli(project_root: Path) -> Path | None:
    """PHASE3TEST_SUPABASE_CLI, then node_modules/.bin of the project or an ancestor, then PATH."""
    configured = os.environ.get("PHASE3TEST_SUPABASE_CLI")
    if configured:
        return Path(configured)
    for folder in (project_root, *project_root.parents):
        candidate = folder / "node_modules" / ".bin" / "supabase"
        if candidate.exists():
            return candidate
    on_path = shutil.which("supabase")
    return Path(on_path) if on_path else None


def run(cli: Path, project_root: Path, *args: str, timeout: float = 120) -> str:
    """Run the CLI on the project (which holds `supabase/`); its output, or an error with it."""
    result = subprocess.run(
        [str(cli), *args, "--workdir", str(project_root)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise SetupError(f"`supabase {' '.join(args)}` failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def migration_list(cli: Path, project_root: Path, db_url: str) -> dict[str, str]:
    """`supabase migration list` as {local version: remote version, '' when not applied}."""
    output = run(cli, project_root, "migration", "list", "--db-url", db_url)
    rows = {}
    for line in output.splitlines():
        cells = [c.strip().strip("`").strip() for c in line.split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d+", cells[0]):
            rows[cells[0]] = cells[1]
    return rows
