"""Helpers for the Phase 3 schema tests: the project's migrations and a schema snapshot.

The snapshot is `pg_dump --schema-only` of the server's own version, without
the migration history; precise catalog snapshots with readable diffs come
with the round-trip suites.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from phase3test.fixtures import ServerInfo
from phase3test.migrations import Migration, discover
from phase3test.project import SupabaseProject


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`migration` parameters: every file in the project's migrations folder, by name."""
    if "migration" in metafunc.fixturenames:
        project = SupabaseProject(metafunc.config.rootpath / metafunc.config.getini("phase3test_supabase_dir"))
        migrations = discover(project.migrations_dir).migrations
        metafunc.parametrize("migration", migrations, ids=[m.path.stem for m in migrations])


@pytest.fixture
def schema_of(pg_server: ServerInfo) -> Callable[[psycopg.Connection], str]:
    """Schema-only dump of the connection's database (roles' grants and policies included)."""

    def dump(conn: psycopg.Connection) -> str:
        result = subprocess.run(
            [
                str(pg_server.bindir / "pg_dump"),
                "--schema-only",
                "--exclude-schema=supabase_migrations",
                "--dbname",
                pg_server.conninfo(conn.info.dbname),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        # pg_dump's \restrict lines carry a random key per dump: not schema.
        return "".join(
            line for line in result.stdout.splitlines(True) if not line.startswith(("\\restrict", "\\unrestrict"))
        )

    return dump


ROWS = Path(__file__).parent / "rows"

CUSTOMER = "00000000-0000-4000-8000-0000000c0001"
OTHER_CUSTOMER = "00000000-0000-4000-8000-0000000c0002"
ADMIN = "00000000-0000-4000-8000-0000000a0001"
SUPER_ADMIN = "00000000-0000-4000-8000-0000000a0002"
FINANCE = "00000000-0000-4000-8000-0000000f0001"
MARKETING = "00000000-0000-4000-8000-0000000e0001"
SECURITY = "00000000-0000-4000-8000-0000000d0001"
PRICING_SERVICE = "00000000-0000-4000-8000-0000000b0001"


@pytest.fixture(scope="session")
def people() -> SimpleNamespace:
    """The fixed users of rows/00_baseline.sql, one attribute per app role (auth.users ids)."""
    return SimpleNamespace(
        customer=CUSTOMER,
        other_customer=OTHER_CUSTOMER,
        admin=ADMIN,
        super_admin=SUPER_ADMIN,
        finance=FINANCE,
        marketing=MARKETING,
        security=SECURITY,
        pricing_service=PRICING_SERVICE,
    )


@pytest.fixture
def rows(db: psycopg.Connection) -> psycopg.Connection:
    """`db` with the fixed rows of tests/phase3/rows/*.sql (one file per domain, in name order)."""
    for script in sorted(ROWS.glob("*.sql")):
        db.execute(script.read_text())
    return db


@pytest.fixture
def migrations_before(supabase_project: SupabaseProject) -> Callable[[Migration], list[Migration]]:
    """The migrations that come before a given one."""

    def before(migration: Migration) -> list[Migration]:
        every = discover(supabase_project.migrations_dir).migrations
        return every[: every.index(migration)]

    return before
