"""A table with rows before a migration under test (`gadgets`), and `measured`: a migration's lock profile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from phase3test.migrations.discovery import discover
from phase3test.migrations.history import ensure_history
from phase3test.profiling.measure import Profile, profile

ROWS = 300_000  # enough for the unsafe forms to take tens of milliseconds, the safe ones well under one


@pytest.fixture
def gadgets(empty_db: psycopg.Connection) -> psycopg.Connection:
    """public.gadgets with ROWS rows, before the migration under test."""
    ensure_history(empty_db)
    empty_db.execute("create table public.gadgets (id bigint primary key, weight int not null)")
    empty_db.execute(f"insert into public.gadgets select n, n % 1000 from generate_series(1, {ROWS}) n")
    empty_db.execute("analyze public.gadgets")
    return empty_db


@pytest.fixture
def measured(tmp_path: Path) -> Callable[..., Profile]:
    """`measured(conn, sql, version=...)`: the profile of `sql` applied as a migration of that version."""

    def measure(conn: psycopg.Connection, sql: str, version: str = "20261201000000") -> Profile:
        folder = tmp_path / version
        folder.mkdir()
        (folder / f"{version}_change.sql").write_text(sql)
        return profile(conn, discover(folder).migrations[0])

    return measure
