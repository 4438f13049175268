"""The real Supabase CLI, used to cross-check our history against its reading of it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from phase3test.errors import SetupError
from phase3test.settings import from_environment


def find_cli(project_root: Path) -> Path | None:
    """The `supabase_cli` setting (PHASE3TEST_SUPABASE_CLI), then node_modules/.bin of the project or an
    ancestor, then PATH."""
    configured = from_environment("supabase_cli")
    if configured is not None:
        return Path(configured)
    for folder in (project_root, *project_root.parents):
        candidate = folder / "node_modules" / ".bin" / "supabase"
        if candidate.exists():
            return candidate
    on_path = shutil.which("supabase")
    return Path(on_path) if on_path else None


# No telemetry or update checks from tests: nothing leaves the machine.
QUIET_ENV = {"DO_NOT_TRACK": "1", "SUPABASE_TELEMETRY_DISABLED": "1", "SUPABASE_NO_UPDATE_NOTIFIER": "1"}


def invoke(
    cli: Path, project_root: Path, *args: str, timeout: float = 120, separate_errors: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the CLI on the project (which holds `supabase/`), output and errors merged unless `separate_errors`
    (for output that is data, such as JSON).

    The npm package is a node wrapper around a native binary, so it runs in
    its own process group and the whole group is killed on timeout or Ctrl-C.
    """
    proc = subprocess.Popen(
        [str(cli), *args, "--workdir", str(project_root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if separate_errors else subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, **QUIET_ENV},
    )
    try:
        output, errors = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, output, errors or "")


def run(cli: Path, project_root: Path, *args: str, timeout: float = 120) -> str:
    """Like `invoke`, but a failure is an error that carries the CLI's output."""
    done = invoke(cli, project_root, *args, timeout=timeout)
    if done.returncode != 0:
        raise SetupError(f"`supabase {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}")
    return done.stdout


def migration_list(cli: Path, project_root: Path, db_url: str) -> dict[str, str]:
    """`supabase migration list` as {local version: remote version, '' when not applied}."""
    output = run(cli, project_root, "migration", "list", "--db-url", db_url)
    rows = {}
    for line in output.splitlines():
        cells = [c.strip().strip("`").strip() for c in line.split("|")]
        if len(cells) >= 3 and re.fullmatch(r"\d+", cells[0]):
            rows[cells[0]] = cells[1]
    return rows
