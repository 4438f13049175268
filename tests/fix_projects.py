"""Projects to run pytest or `phase3test check` on: the sample project, seeded by a small notes seeder
(`notes_project`, `broken_project`, `project`), and `run_check`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fix_homes import SAMPLE_PROJECT
from limits import SUBPROCESS_TIMEOUT

PHASE3TEST = str(Path(sys.executable).parent / "phase3test")


@pytest.fixture(scope="session")
def sample_project() -> Path:
    return SAMPLE_PROJECT


SEEDERS = """
import uuid

from phase3test.seeding import Batch, Seeder


class Notes(Seeder):
    name = "notes"
    tables = ("auth.users", "public.notes", "public.note_tags")

    def generate(self, ctx):
        users = [(ctx.uuid(), f"writer{i}@example.test", "authenticated", "authenticated") for i in range(2)]
        yield Batch("auth.users", ("id", "email", "aud", "role"), users)
        extra = EXTRA_COLUMNS
        notes = [(n, users[n % 2][0], f"note {n}", ctx.now, *extra.values()) for n in range(1, 5)]
        yield Batch("public.notes", ("id", "owner_id", "body", "created_at", *extra), notes)
        yield Batch("public.note_tags", ("note_id", "tag"), [(n, t) for n in range(1, 5) for t in ("old", "work")])


SEEDERS = [Notes()]
"""


@pytest.fixture
def notes_project(sample_project: Path) -> Callable[..., Path]:
    """`notes_project(folder, files={}, extra="{}")`: the sample project in `folder`, seeded by the notes seeders
    (with `extra` columns on every note), plus `files` (paths under supabase/)."""

    def make(folder: Path, files: dict[str, str] | None = None, extra: str = "{}") -> Path:
        shutil.copytree(sample_project / "supabase", folder / "supabase")
        shutil.copytree(sample_project / "fixtures", folder / "fixtures")
        shutil.copy(sample_project / ".squawk.toml", folder)
        for relative, text in (files or {}).items():
            (folder / "supabase" / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / "supabase" / relative).write_text(text)
        (folder / "notes_seeders.py").write_text(SEEDERS.replace("EXTRA_COLUMNS", extra))
        (folder / "pytest.ini").write_text(
            "[pytest]\nphase3test_supabase_dir = supabase\nphase3test_seeders = notes_seeders\npythonpath = .\n"
            "phase3test_profile_rows = 20000\n"  # a small project's scale: the lock profile in a second or two
        )
        return folder

    return make


@pytest.fixture
def broken_project(pytester: pytest.Pytester, notes_project: Callable[..., Path], home: Path) -> Callable[..., Path]:
    """`broken_project(files, extra="{}")`: the notes project plus `files`, in pytester's folder."""
    return lambda files, extra="{}": notes_project(pytester.path, files, extra)


@pytest.fixture
def project(tmp_path: Path, notes_project: Callable[..., Path]) -> Path:
    """The unbroken notes project in its own folder."""
    return notes_project(tmp_path / "project")


@pytest.fixture
def run_check(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_check(project, *args)`: `phase3test check` in the project's folder."""

    def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PHASE3TEST_HOME": str(home)}
        return subprocess.run(
            [PHASE3TEST, "check", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
        )

    return run
