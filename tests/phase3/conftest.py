"""Helpers for the Phase 3 schema tests: the project's migrations and the shared helpers.

Schemas are compared with `phase3test.catalog` snapshots; `assert_same`
prints the readable diff when they differ.

Test files cannot import this module (there is more than one conftest.py), so
the small helpers every domain's tests use come as fixtures: `act`, `count`,
`refused`, `changed`, `ids`, `index_defs` and `migrate_just_before`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from phase3test.migrations.discovery import Migration, discover
from phase3test.migrations.runner import migrate
from phase3test.project import SupabaseProject

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


@pytest.fixture
def migrate_just_before(
    empty_db: psycopg.Connection, supabase_project: SupabaseProject, migrations_before: Callable[[Migration], list]
) -> Callable[..., Migration]:
    """`migrate_just_before(version)`: migrate `empty_db` up to just before the migration `version`, not applying it.

    With `baseline=True` (the default) the fixed rows of rows/00_baseline.sql are loaded next, as rows
    that predate the migration. Returns that migration, for the test to `apply` it.
    """

    def before(version: str, baseline: bool = True) -> Migration:
        mine = next(m for m in discover(supabase_project.migrations_dir).migrations if m.version == version)
        migrate(empty_db, migrations_before(mine))
        if baseline:
            empty_db.execute((ROWS / "00_baseline.sql").read_text())
        return mine

    return before


# Small helpers for the tests' bodies -------------------------------------------


@pytest.fixture
def act(rows: psycopg.Connection, people: SimpleNamespace, as_role: Callable) -> Callable[[str], object]:
    """`act("customer")`: `rows` runs as that fixed user of `people`, signed in (`authenticated`).

    `act("service_role")` and `act("anon")` run as that API role, with no user. Returns `as_role`'s result:
    `with act("admin"): ...` signs in for the block only.
    """

    def acting(who: str) -> object:
        if who in ("anon", "service_role"):
            return as_role(rows, who)
        return as_role(rows, "authenticated", user=getattr(people, who))

    return acting


@pytest.fixture
def count() -> Callable[[psycopg.Connection, str], int]:
    """`count(conn, "public.alerts")`: how many rows the connection sees in what follows FROM (a where clause too)."""

    def rows_in(conn: psycopg.Connection, source: str) -> int:
        return conn.execute(f"select count(*) from {source}").fetchone()[0]

    return rows_in


@pytest.fixture
def refused() -> Callable[..., bool]:
    """`refused(conn, sql, params=())`: True when the statement is refused for lack of privilege.

    RLS, grants or a guard raising `insufficient_privilege`. The attempt runs in a savepoint, so a
    refused one leaves the test's transaction usable; any other error is raised.
    """

    def attempt(conn: psycopg.Connection, sql: str, params: tuple = ()) -> bool:
        try:
            with conn.transaction():
                conn.execute(sql, params)
        except psycopg.errors.InsufficientPrivilege:
            return True
        return False

    return attempt


@pytest.fixture
def changed() -> Callable[..., int]:
    """`changed(conn, sql, params=())`: how many rows the statement changed (0 when RLS hides them all)."""
    return lambda conn, sql, params=(): conn.execute(sql, params).rowcount


@pytest.fixture
def index_defs() -> Callable[[psycopg.Connection], dict[str, str]]:
    """`index_defs(conn)`: every index of the public schema, by name, with its `CREATE INDEX` definition."""
    return lambda conn: dict(
        conn.execute("select indexname, indexdef from pg_indexes where schemaname = 'public'").fetchall()
    )


@pytest.fixture
def ids() -> Callable[[psycopg.Connection, str], set[str]]:
    """`ids(conn, "booking_notes")`: the ids (as text) of the rows the connection sees in that public table."""
    return lambda conn, table: {str(row[0]) for row in conn.execute(f"select id from public.{table}")}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here works on its own data, so on the unseeded migrated template."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.unseeded)
