"""A finished seeder's deferred constraints, checked by the server while Python generates the next seeder's rows.

Deferred constraint triggers (a balanced ledger, say) queue one event per
row and would all run at the end, with Python idle. Once a seeder is done,
its tables' initially deferred constraints are switched to immediate and back
in pipeline mode: the server fires what is queued while the next seeder's
first batch is generated, and the result is collected before the connection
is used again, where an error is charged to the seeder whose rows broke the
check. Later writes to those tables are deferred again as the schema says.
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql


def deferred_constraints(conn: psycopg.Connection, tables: list[str]) -> list[sql.Composable]:
    """The initially deferred constraints on `tables`, schema-qualified for SET CONSTRAINTS."""
    rows = conn.execute(
        """select n.nspname, c.conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace
            where c.conrelid = any (%s::regclass[]) and c.condeferrable and c.condeferred""",
        (tables,),
    ).fetchall()
    return [sql.Identifier(schema, name) for schema, name in rows]


def check_deferred_now(conn: psycopg.Connection, tables: list[str]) -> bool:
    """Fire what the tables' deferred constraints have queued, then defer them again; False if they have none.

    In pipeline mode the statements are only sent; otherwise this waits and raises a failed check's error.
    """
    names = deferred_constraints(conn, tables)
    if names:
        listed = sql.SQL(", ").join(names)
        conn.execute(sql.SQL("set constraints {} immediate").format(listed))
        conn.execute(sql.SQL("set constraints {} deferred").format(listed))
    return bool(names)


class BackgroundChecks:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self._open = contextlib.ExitStack()
        self.seeder: str | None = None  # whose checks are running

    @property
    def running(self) -> bool:
        return self.seeder is not None

    def start(self, seeder: str, tables: list[str]) -> None:
        """Send the checks of `seeder`'s tables without waiting for them."""
        if not deferred_constraints(self.conn, tables):
            return
        self.seeder = seeder
        self._open.enter_context(self.conn.pipeline())
        check_deferred_now(self.conn, tables)

    def abandon(self) -> None:
        """Leave pipeline mode after a failure elsewhere, whose error is the one to report."""
        with contextlib.suppress(psycopg.Error):
            self.settle()

    def settle(self) -> None:
        """Wait for the checks sent last, if any; their error, if one failed, is raised here."""
        try:
            self._open.close()
        finally:
            self._open = contextlib.ExitStack()
            self.seeder = None
