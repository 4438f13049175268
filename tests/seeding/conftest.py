"""Fixtures for the Phase 3 seeding tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from phase3test.seeding import REFERENCE_TIME


@pytest.fixture
def run_checks() -> Callable[..., dict[str, tuple[int, int]]]:
    """`run_checks(conn, checks, params)`: {name: (violations, rows considered)} for checks given as
    {name: (violations query, rows-considered query)}; a check passes with 0 violations over > 0 rows."""

    def run(
        conn: psycopg.Connection, checks: dict[str, tuple[str, str]], params: dict[str, Any] | None = None
    ) -> dict[str, tuple[int, int]]:
        params = params if params is not None else {"now": REFERENCE_TIME}
        return {
            name: (conn.execute(query, params).fetchone()[0], conn.execute(considered).fetchone()[0])
            for name, (query, considered) in checks.items()
        }

    return run


@pytest.fixture
def checksums() -> Callable[[psycopg.Connection], dict[str, str]]:
    """Per-table checksum of every row of auth.users, storage.objects and every public table."""

    def compute(conn: psycopg.Connection) -> dict[str, str]:
        tables = [
            r[0]
            for r in conn.execute(
                "select c.oid::regclass::text from pg_class c where c.relkind = 'r'"
                " and (c.relnamespace = 'public'::regnamespace"
                "      or c.oid in ('auth.users'::regclass, 'storage.objects'::regclass)) order by 1"
            )
        ]
        return {
            table: conn.execute(
                f"select count(*) || ':' || md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from {table} t"
            ).fetchone()[0]
            for table in tables
        }

    return compute


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here works on its own data, so on the unseeded migrated template."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.unseeded)
