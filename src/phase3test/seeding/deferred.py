"""A seeder's deferred constraints, checked when it is done rather than at the commit.

Deferred constraint triggers (a balanced ledger, say) queue one event per
row. Fired once a seeder is done, while the producer generates the next ones,
they fail charged to the seeder whose rows broke them, and do not all wait for
the commit. The constraints are deferred again afterwards, as the schema says:
a caller's own transaction keeps its semantics.
"""

from __future__ import annotations

import psycopg
from psycopg import sql


def _deferred_constraints(conn: psycopg.Connection, tables: list[str]) -> list[sql.Composable]:
    """The initially deferred constraints on `tables`, schema-qualified for SET CONSTRAINTS."""
    rows = conn.execute(
        """select n.nspname, c.conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace
            where c.conrelid = any (%s::regclass[]) and c.condeferrable and c.condeferred""",
        (tables,),
    ).fetchall()
    return [sql.Identifier(schema, name) for schema, name in rows]


def check_deferred_now(conn: psycopg.Connection, tables: list[str]) -> None:
    """Fire what the tables' deferred constraints have queued (raising a failed check's error), then defer
    them again."""
    names = _deferred_constraints(conn, tables)
    if names:
        listed = sql.SQL(", ").join(names)
        conn.execute(sql.SQL("set constraints {} immediate").format(listed))
        conn.execute(sql.SQL("set constraints {} deferred").format(listed))
