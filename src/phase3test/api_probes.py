"""One cell of the access matrix through a running stack's API: the path apps take.

The stack's database, read as its superuser, says what a cell should reach
(the predicates `probes` uses, rows named by `ctid`); the role then acts
over HTTP with a token minted for it, rows named by primary key. Writes
carry `Prefer: tx=rollback, handling=strict`: PostgREST rolls them back, and
a stack that cannot (db-tx-end is not commit-allow-override) refuses them
before running anything, so nothing done here stays.

Where SQL and HTTP differ, the API's side is checked on a sample: an update
or delete acts on the acting user's own row and on someone else's, one
request each, rather than on every row at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

from phase3test.access import EXECUTE, Cell, FunctionAccess, Matrix, Role, TableAccess
from phase3test.api import ApiStack
from phase3test.probes import REFUSED, Probe, Verdict, check_select, expect, owner_of

ROLLBACK = "tx=rollback, handling=strict"
REFUSED_CODES = ("42501",)  # a missing grant, a policy's WITH CHECK, a guard
PASSED_SECURITY = ("23503", "23505")  # a foreign key or a unique key stopped a write row-level security let through
PAGE = 1000


@dataclass
class ApiProbe(Probe):
    """`Probe`'s view of the rows, with the role acting over HTTP."""

    stack: ApiStack = field(kw_only=True)
    http: httpx.Client = field(kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.schema, _, self.name = self.access.table.partition(".")
        rows = self.conn.execute(
            """select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid
                   and a.attnum = any (i.indkey)
                where i.indrelid = %s::regclass and i.indisprimary order by array_position(i.indkey, a.attnum)""",
            (self.access.table,),
        ).fetchall()
        self.key = [name for (name,) in rows]
        self._ctids: dict[str, str] = {}

    def ctid_of(self, key: list[Any]) -> str | None:
        """The row the API named by its primary key (JSON values, as Postgres renders them)."""
        if not self._ctids:
            query = sql.SQL("select jsonb_build_array({})::text, ctid::text from {}").format(
                sql.SQL(", ").join(map(sql.Identifier, self.key)), self.table
            )
            self._ctids = {text: ctid for text, ctid in self.conn.execute(query)}
        return self._ctids.get(json.dumps(key, separators=(", ", ": "), ensure_ascii=False))

    def row(self, ctid: str) -> dict[str, Any]:
        found = self.conn.execute(
            sql.SQL("select to_jsonb(t) from {} t where ctid = %s::tid").format(self.table), (ctid,)
        ).fetchone()
        assert found is not None
        return dict(found[0])

    # What the role does, over HTTP ---------------------------------------------------

    def sees(self, user: str | None) -> set[str] | str:
        seen: set[str] = set()
        while True:
            response = self._send(
                "GET",
                user,
                params={"select": ",".join(self.key), "order": ",".join(self.key), "offset": len(seen), "limit": PAGE},
                body=None,
                prefer="count=exact",
            )
            if response.status_code >= 300:
                return _failure(response)
            page = response.json()
            for item in page:
                ctid = self.ctid_of([item[column] for column in self.key])
                seen.add(ctid or f"unknown row {item}")
            total = int(response.headers.get("content-range", "*/0").rsplit("/", 1)[1] or 0)
            if not page or len(seen) >= total:
                return seen

    def updates(self, user: str | None, ctid: str | None) -> int | str:
        assert ctid is not None, "through the API an update acts on one row at a time"
        columns = self.columns("UPDATE")
        if not columns:
            return REFUSED
        row = self.row(ctid)
        body = {columns[0]: row[columns[0]]}  # its own value: guards on changed values stay out of it
        return self._count(self._send("PATCH", user, self._filter(row), body, f"{ROLLBACK}, return=representation"))

    def deletes(self, user: str | None, ctid: str | None) -> int | str:
        assert ctid is not None, "through the API a delete acts on one row at a time"
        filters = self._filter(self.row(ctid))
        return self._count(self._send("DELETE", user, filters, None, f"{ROLLBACK}, return=representation"))

    def inserts(self, user: str | None, ctid: str) -> int | str:
        """The row inserted again, as the role: a unique key stopping it means row-level security let it in."""
        columns = [c for c in self.columns("INSERT") if c not in self.access.insert_defaults]
        if not columns:
            return REFUSED
        row = self.row(ctid)
        response = self._send("POST", user, None, {c: row[c] for c in columns}, f"{ROLLBACK}, return=minimal")
        return 1 if response.status_code < 300 else self._count(response)

    def _filter(self, row: dict[str, Any]) -> dict[str, str]:
        return {column: f"eq.{_text(row[column])}" for column in self.key}

    def _count(self, response: httpx.Response) -> int | str:
        if response.status_code < 300:
            return len(response.json())
        failure = _failure(response)
        return 1 if failure.startswith(PASSED_SECURITY) else failure

    def _send(
        self, method: str, user: str | None, params: dict[str, Any] | None, body: Any, prefer: str
    ) -> httpx.Response:
        headers = self.stack.headers(self.role.api_role, user)
        headers["Accept-Profile" if method == "GET" else "Content-Profile"] = self.schema
        headers["Prefer"] = prefer
        response = self.http.request(
            method, f"{self.stack.rest_url}/{self.name}", params=params, json=body, headers=headers
        )
        confirm_rolled_back(response, self.stack)
        return response


def confirm_rolled_back(response: httpx.Response, stack: ApiStack) -> None:
    """A write that went through must say PostgREST rolled it back; anything else stops the run."""
    request = response.request
    if request.method == "GET" or response.status_code >= 300:
        return
    if "tx=rollback" not in response.headers.get("preference-applied", ""):
        raise RuntimeError(
            f"{stack.url} ran a {request.method} without confirming it rolled it back (Preference-Applied): "
            "stop, and check the stack's data; PostgREST needs db-tx-end = commit-allow-override"
        )


def check(
    conn: psycopg.Connection, http: httpx.Client, stack: ApiStack, matrix: Matrix, cell: Cell, exposed: list[str]
) -> Verdict | str:
    """Test one cell through the API; a reason instead when the API cannot express it."""
    if cell.operation == EXECUTE:
        return _check_call(conn, http, stack, matrix.functions[cell.table], matrix.roles[cell.role], cell.expected)
    access = matrix.tables[cell.table]
    reason = _not_through_the_api(conn, access, exposed)
    if reason:
        return reason
    probe = ApiProbe(conn, access, matrix.roles[cell.role], stack=stack, http=http)
    every = probe.all_rows()
    if not every:
        return Verdict([f"no rows in {cell.table} on the stack: seed it (phase3test seed --db-url …)"], [])
    candidates = probe.users()
    if probe.role.api_role == "authenticated" and not candidates:
        return Verdict([f"role {cell.role}: its `users` query finds nobody in the stack's database"], [])
    user, own = owner_of(probe, candidates, cell.operation) if cell.operation in access.own else (None, set())
    user = user or (candidates[0] if candidates else None)
    if cell.operation == "select":
        return Verdict(check_select(probe.sees(user), set(every), own, cell.expected), [])
    attempt: Callable[[str | None, str], int | str] = {
        "insert": probe.inserts,
        "update": probe.updates,
        "delete": probe.deletes,
    }[cell.operation]
    others = [c for c in every if c not in own][:1]
    problems: list[str] = []
    if own:  # the user's own row: reachable for allow and own, not for deny
        problems += expect(attempt(user, sorted(own)[0]), cell.expected != "deny", "the user's own row")
    for other in others:  # someone else's: reachable only for allow
        problems += expect(attempt(user, other), cell.expected == "allow", "someone else's row")
    unchecked = []
    if cell.expected == "own" and not own:
        unchecked.append(f"{cell.role} {cell.operation} on {cell.table} through the API: no seeded row is own")
    return Verdict(problems, unchecked)


def _not_through_the_api(conn: psycopg.Connection, access: TableAccess, exposed: list[str]) -> str | None:
    schema = access.table.partition(".")[0]
    if schema not in exposed:
        return f"{access.table}: the API does not serve schema {schema} (exposed: {', '.join(exposed)})"
    if access.rows:
        return f"{access.table}: the matrix scopes its rows in SQL ({access.rows}), which a request cannot say"
    found = conn.execute(
        "select 1 from pg_index where indrelid = %s::regclass and indisprimary", (access.table,)
    ).fetchone()
    return None if found else f"{access.table}: no primary key to name its rows by over HTTP"


def _check_call(
    conn: psycopg.Connection, http: httpx.Client, stack: ApiStack, function: FunctionAccess, role: Role, expected: str
) -> Verdict | str:
    """An RPC without arguments, as the role's first user: it must run, or be refused."""
    schema, _, rest = function.signature.partition(".")
    name, _, arguments = rest.partition("(")
    if arguments.rstrip(")"):
        return f"{function.signature}: its arguments come from SQL in the matrix; through the API only calls without"
    users = [str(user) for (user, *_) in conn.execute(role.users)] if role.users else []
    if role.api_role == "authenticated" and not users:
        return Verdict([f"role {role.name}: its `users` query finds nobody in the stack's database"], [])
    headers = stack.headers(role.api_role, users[0] if users else None)
    headers |= {"Content-Profile": schema, "Prefer": ROLLBACK}
    response = http.post(f"{stack.rest_url}/rpc/{name}", json={}, headers=headers)
    confirm_rolled_back(response, stack)
    outcome: int | str = 1 if response.status_code < 300 else _failure(response)
    return Verdict(expect(outcome, expected != "deny", "the call"), [])


def _failure(response: httpx.Response) -> str:
    """REFUSED for a privilege error, else the error's SQLSTATE (or HTTP status) and message."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("code") or "")
    if code in REFUSED_CODES:
        return REFUSED
    return f"{code or response.status_code}: {body.get('message') or response.text[:200]}"


def _text(value: Any) -> str:
    """A JSON value as a PostgREST filter operand."""
    return value if isinstance(value, str) else json.dumps(value)
