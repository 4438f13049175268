"""The explicit grants of 20261205000000_phase3_explicit_grants, on Supabase as it is today (no default grants
to the API roles): each table grants `authenticated` exactly the operations its policies allow, `anon` nothing;
the rollback takes them again, except on a project that still has the old default privileges."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations.discovery import Migration, rollback_for
from phase3test.migrations.runner import revert
from phase3test.project import SupabaseProject

GRANTS = "20261205000000"
OPERATIONS = ("select", "insert", "update", "delete")
OLD_DEFAULTS = "alter default privileges for role postgres in schema public grant all on tables to authenticated"


def granted(conn: psycopg.Connection, role: str) -> dict[str, set[str]]:
    """Per public table, the operations `role` may run on it (by grant, whatever RLS then lets through)."""
    rows = conn.execute(
        """select 'public.' || c.relname, op from pg_class c cross join unnest(%s::text[]) op
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
              and has_table_privilege(%s, c.oid, op)""",
        (list(OPERATIONS), role),
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, operation in rows:
        found.setdefault(table, set()).add(operation)
    return found


def policy_operations(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Per public table, the operations some policy for authenticated allows (ALL counts as all four)."""
    rows = conn.execute(
        """select 'public.' || tablename, lower(cmd) from pg_policies
            where schemaname = 'public' and 'authenticated' = any(roles) and permissive = 'PERMISSIVE'"""
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, command in rows:
        found.setdefault(table, set()).update(OPERATIONS if command == "all" else {command})
    return found


def test_authenticated_is_granted_exactly_what_the_policies_of_each_table_allow(db):
    grants, allowed = granted(db, "authenticated"), policy_operations(db)
    differ = [
        f"{table}: policies allow {listed(allowed.get(table))}; granted {listed(grants.get(table))}"
        for table in sorted(grants.keys() | allowed.keys())
        if grants.get(table) != allowed.get(table)
    ]
    assert not differ, "\n".join(differ)


def listed(operations: set[str] | None) -> str:
    return ", ".join(op for op in OPERATIONS if op in (operations or ())) or "nothing"


def test_anon_is_granted_nothing_on_any_public_table(db):
    assert granted(db, "anon") == {}


@pytest.fixture
def grants_rollback(migration_chain: list[Migration], supabase_project: SupabaseProject):
    (migration,) = [m for m in migration_chain if m.version == GRANTS]
    return rollback_for(migration, supabase_project.rollbacks_dir)


def test_the_rollback_takes_the_grants_again(fresh_db, grants_rollback):
    revert(fresh_db, grants_rollback)
    assert granted(fresh_db, "authenticated") == {}


def test_the_rollback_leaves_them_where_the_old_default_privileges_are_in_force(fresh_db, grants_rollback):
    """There the tables had the grants before the migration, which changed nothing: rolling it back must not
    take the API away from every signed-in user."""
    before = granted(fresh_db, "authenticated")
    fresh_db.execute(OLD_DEFAULTS)
    revert(fresh_db, grants_rollback)
    assert granted(fresh_db, "authenticated") == before
