"""One cell of the access matrix through a running stack's API: the path apps take.

The stack's database, read as its superuser, says what a cell should reach
(the predicates `probes` uses, rows named by `ctid`); the role then acts
over HTTP with a token minted for it, rows named by their primary key as
text. Every request carries `Prefer: tx=rollback`, and before the first
write the stack must show, on a read, that it applies it (PostgREST's
db-tx-end = commit-allow-override); PostgREST silently commits when it does
not, so a stack that does not say so gets no write at all.

Cells are decided by `probes.check`, with this probe acting. Where SQL and
HTTP differ: an update or delete acts on one row per request (one of the
user's and someone else's) rather than on every row at once; and PostgREST
runs deferred constraints before it rolls back, where `probes` rolls back a
savepoint first, so a write a deferred check would refuse at commit shows
here as that check's error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import psycopg
from psycopg import sql

from phase3test.access import probes
from phase3test.access.matrix import EXECUTE, Cell, Matrix, TableAccess
from phase3test.access.probes import REFUSED, Probe, Verdict, expect, nobody_to_act_as, role_users
from phase3test.supabase.api import ApiStack

ROLLBACK = "tx=rollback"
REFUSED_CODES = ("42501",)  # a missing grant, a policy's WITH CHECK, a guard
PASSED_SECURITY = ("23503", "23505")  # a foreign key or a unique key stopped a write row-level security let through
PAGE = 1000


class RollbackNotApplied(RuntimeError):
    """The stack would commit writes: no write is sent."""


@dataclass
class ApiProbe(Probe):
    """`Probe`'s view of the rows, with the role acting over HTTP."""

    acts_on_whole_tables: ClassVar[bool] = False

    stack: ApiStack = field(kw_only=True)
    http: httpx.Client = field(kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.schema, _, self.name = self.access.table.partition(".")
        self.key = primary_key(self.conn, self.access.table)
        self._ctids: dict[tuple[str, ...], str] = {}

    def ctid_of(self, key: tuple[str, ...]) -> str | None:
        """The row the API named by its primary key, each column as Postgres' text."""
        if not self._ctids:
            query = sql.SQL("select array[{}]::text[], ctid::text from {}").format(self._key_as_text(), self.table)
            self._ctids = {tuple(texts): ctid for texts, ctid in self.conn.execute(query)}
        return self._ctids.get(key)

    def key_of(self, ctid: str) -> list[str]:
        query = sql.SQL("select array[{}]::text[] from {} where ctid = %s::tid").format(self._key_as_text(), self.table)
        found = self.conn.execute(query, (ctid,)).fetchone()
        assert found is not None
        return list(found[0])

    def row(self, ctid: str) -> dict[str, Any]:
        found = self.conn.execute(
            sql.SQL("select to_jsonb(t) from {} t where ctid = %s::tid").format(self.table), (ctid,)
        ).fetchone()
        assert found is not None
        return dict(found[0])

    def _key_as_text(self) -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in self.key)

    # What the role does, over HTTP ---------------------------------------------------

    def sees(self, user: str | None) -> set[str] | str:
        as_text = ",".join(f"{c}::text" for c in self.key)
        seen: set[str] = set()
        while True:
            params = {"select": as_text, "order": ",".join(self.key), "offset": len(seen), "limit": PAGE}
            response = self._send("GET", user, params, None, f"{ROLLBACK}, count=exact")
            if response.status_code >= 300:
                return _failure(response)
            total = response.headers.get("content-range", "").rpartition("/")[2]
            if not total.isdigit():
                return f"gave no row count (Content-Range: {response.headers.get('content-range')!r})"
            page = response.json()
            for item in page:
                key = tuple(str(item[c]) for c in self.key)
                seen.add(self.ctid_of(key) or f"unknown row {key}")
            if not page or len(seen) >= int(total):
                return seen

    def updates(self, user: str | None, ctid: str | None) -> int | str:
        assert ctid is not None, "through the API an update acts on one row at a time"
        columns = self.columns("UPDATE")
        if not columns:
            return REFUSED
        body = {columns[0]: self.row(ctid)[columns[0]]}  # its own value: guards on changed values stay out of it
        return self._count(self._send("PATCH", user, self._one_row(ctid), body, f"{ROLLBACK}, return=representation"))

    def deletes(self, user: str | None, ctid: str | None) -> int | str:
        assert ctid is not None, "through the API a delete acts on one row at a time"
        return self._count(self._send("DELETE", user, self._one_row(ctid), None, f"{ROLLBACK}, return=representation"))

    def inserts(self, user: str | None, ctid: str) -> int | str:
        """The row sent again, as the role: a unique key stopping it means row-level security let it in."""
        columns = [c for c in self.columns("INSERT") if c not in self.access.insert_defaults]
        if not columns:
            return REFUSED
        row = self.row(ctid)
        response = self._send("POST", user, None, {c: row[c] for c in columns}, f"{ROLLBACK}, return=minimal")
        return 1 if response.status_code < 300 else self._count(response)

    def _one_row(self, ctid: str) -> dict[str, str]:
        """One row by its key; what comes back is only the key (other columns may be beyond the role's grants)."""
        filters = {column: f"eq.{text}" for column, text in zip(self.key, self.key_of(ctid), strict=True)}
        return {**filters, "select": ",".join(self.key)}

    def _count(self, response: httpx.Response) -> int | str:
        if response.status_code < 300:
            return len(response.json())
        failure = _failure(response)
        return 1 if failure.startswith(PASSED_SECURITY) else failure

    def _send(
        self, method: str, user: str | None, params: dict[str, Any] | None, body: Any, prefer: str
    ) -> httpx.Response:
        if method != "GET":
            require_rollback(self.http, self.stack, self.schema, self.name)
        headers = self.stack.headers(self.role.api_role, user)
        headers["Accept-Profile" if method == "GET" else "Content-Profile"] = self.schema
        headers["Prefer"] = prefer
        return self.http.request(
            method, f"{self.stack.rest_url}/{self.name}", params=params, json=body, headers=headers
        )


@functools.cache
def _rollback_applied(http: httpx.Client, stack: ApiStack, schema: str, table: str) -> str | None:
    response = http.get(
        f"{stack.rest_url}/{table}",
        params={"limit": 0},
        headers={**stack.headers("service_role"), "Accept-Profile": schema, "Prefer": ROLLBACK},
    )
    if ROLLBACK in response.headers.get("preference-applied", ""):
        return None
    return (
        f"{stack.url} does not apply `Prefer: {ROLLBACK}` (status {response.status_code}, Preference-Applied: "
        f"{response.headers.get('preference-applied')!r}): writes would be committed, so none is sent. "
        "Set PostgREST's db-tx-end to commit-allow-override (docker-compose.yml does)"
    )


def require_rollback(http: httpx.Client, stack: ApiStack, schema: str, table: str) -> None:
    """Before any write: the stack must show, on a read, that it rolls requests back when asked."""
    problem = _rollback_applied(http, stack, schema, table)
    if problem:
        raise RollbackNotApplied(problem)


def primary_key(conn: psycopg.Connection, table: str) -> list[str]:
    """The table's primary key columns, in key order (empty without one)."""
    rows = conn.execute(
        """select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid
               and a.attnum = any (i.indkey)
            where i.indrelid = %s::regclass and i.indisprimary order by array_position(i.indkey, a.attnum)""",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def check(
    conn: psycopg.Connection, http: httpx.Client, stack: ApiStack, matrix: Matrix, cell: Cell, exposed: list[str]
) -> Verdict | str:
    """Test one cell through the API, deciding as `probes.check` does; a reason instead when the API cannot
    express it."""
    if cell.operation == EXECUTE:
        return _check_call(conn, http, stack, matrix, cell, exposed)
    reason = _not_through_the_api(conn, matrix.tables[cell.table], exposed)
    if reason:
        return reason
    return probes.check(conn, matrix, cell, lambda access, role: ApiProbe(conn, access, role, stack=stack, http=http))


def _not_through_the_api(conn: psycopg.Connection, access: TableAccess, exposed: list[str]) -> str | None:
    schema = access.table.partition(".")[0]
    if schema not in exposed:
        return f"{access.table}: the API does not serve schema {schema} (exposed: {', '.join(exposed)})"
    if access.rows:
        return f"{access.table}: the matrix scopes its rows in SQL ({access.rows}), which a request cannot say"
    if not primary_key(conn, access.table):
        return f"{access.table}: no primary key to name its rows by over HTTP"
    return None


def _check_call(
    conn: psycopg.Connection, http: httpx.Client, stack: ApiStack, matrix: Matrix, cell: Cell, exposed: list[str]
) -> Verdict | str:
    """An RPC without arguments, as the role's first user: it must run, or be refused."""
    function, role = matrix.functions[cell.table], matrix.roles[cell.role]
    schema, _, rest = function.signature.partition(".")
    name, _, arguments = rest.partition("(")
    if schema not in exposed:
        return f"{function.signature}: the API does not serve schema {schema} (exposed: {', '.join(exposed)})"
    if arguments.rstrip(")"):
        return f"{function.signature}: its arguments come from SQL in the matrix; through the API only calls without"
    users = role_users(conn, role)
    nobody = nobody_to_act_as(role, users)
    if nobody:
        return Verdict(nobody, [])
    # A function may write: the stack must roll back, shown on a read of a table it serves (not of the function).
    served = [table.partition(".") for table in matrix.tables if table.partition(".")[0] in exposed]
    if not served:
        return f"{function.signature}: no table the API serves to confirm on that it rolls calls back"
    require_rollback(http, stack, served[0][0], served[0][2])
    headers = stack.headers(role.api_role, users[0] if users else None)
    headers |= {"Content-Profile": schema, "Prefer": ROLLBACK}
    response = http.post(f"{stack.rest_url}/rpc/{name}", json={}, headers=headers)
    outcome: int | str = 1 if response.status_code < 300 else _failure(response)
    return Verdict(expect(outcome, cell.expected != "deny", "the call"), [])


def _failure(response: httpx.Response) -> str:
    """REFUSED for a privilege error, else the error's SQLSTATE (or HTTP status) and message."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("code") or "") if isinstance(body, dict) else ""
    if code in REFUSED_CODES:
        return REFUSED
    message = body.get("message") if isinstance(body, dict) else None
    return f"{code or response.status_code}: {message or response.text[:200]}"
