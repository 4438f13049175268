"""Act as a Supabase API caller exactly the way PostgREST sets up a request.

PostgREST runs, inside the request's transaction and all transaction-local:
search_path, role (`SET LOCAL ROLE`), `request.jwt.claims` (JSON that always
carries "role"), `request.method`, `request.path`, `request.headers`
(lower-cased names); with no JWT the role is `anon`. It then applies the
impersonated role's own settings (Supabase gives `anon` a 3 s and
`authenticated` an 8 s statement_timeout), because SET ROLE alone would not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus

# What the Storage API runs before it deletes rows of storage.buckets or storage.objects: storage's own
# protect_delete triggers refuse every other delete (42501). Transaction-local, like the rest of a request.
STORAGE_API_DELETES = "select set_config('storage.allow_delete_query', 'true', true)"

DEFAULT_SEARCH_PATH = '"public", "extensions"'


def claims_for(role: str, user: str | UUID | None, claims: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JWT claims a Supabase client would send for this identity."""
    result: dict[str, Any] = {"role": role}
    if user is not None:
        result.update({"sub": str(user), "aud": "authenticated"})
    result.update(claims or {})
    result["role"] = role  # PostgREST switches to the claim's role: they must agree
    return result


class Impersonation:
    """The identity set by `as_role`; as a context manager it restores the previous one."""

    def __init__(self, conn: psycopg.Connection, previous: dict[str, str]) -> None:
        self._conn = conn
        self._previous = previous

    def __enter__(self) -> Impersonation:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn.closed or self._conn.info.transaction_status != TransactionStatus.INTRANS:
            return  # the transaction is gone or failed; its local settings died with it
        for key, value in self._previous.items():
            self._conn.execute("select set_config(%s, %s, true)", (key, value))


def as_role(
    conn: psycopg.Connection,
    role: str,
    user: str | UUID | None = None,
    claims: Mapping[str, Any] | None = None,
    *,
    method: str = "GET",
    path: str = "/",
    headers: Mapping[str, str] | None = None,
    search_path: str = DEFAULT_SEARCH_PATH,
) -> Impersonation:
    """Set PostgREST's per-request identity on `conn` for the rest of its transaction.

    `role` is `anon`, `authenticated` or `service_role`; `user` is the auth
    user id that becomes the `sub` claim; `claims` adds or overrides claims
    (e.g. `{"email": ...}` or `{"app_metadata": {...}}`).
    """
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        raise psycopg.ProgrammingError(
            "as_role() needs a transaction: PostgREST's settings are transaction-local. "
            "Use the `db` fixture or `with conn.transaction():`"
        )
    values = {
        "search_path": search_path,
        "role": role,
        "request.jwt.claims": json.dumps(claims_for(role, user, claims)),
        "request.method": method,
        "request.path": path,
        "request.headers": json.dumps({k.lower(): v for k, v in (headers or {}).items()}),
    }
    values.update(role_settings(conn, role))  # read while still privileged enough to see them
    keys = list(values)
    current = conn.execute(
        "select " + ", ".join(["coalesce(current_setting(%s, true), '')"] * len(keys)), keys
    ).fetchone()
    previous = dict(zip(keys, current or (), strict=True))
    conn.execute(
        "select " + ", ".join(["set_config(%s, %s, true)"] * len(keys)),
        [item for pair in values.items() for item in pair],
    )
    return Impersonation(conn, previous)


def role_settings(conn: psycopg.Connection, role: str) -> dict[str, str]:
    """`ALTER ROLE … SET` values for `role` (this database's override the global ones)."""
    rows = conn.execute(
        """select unnest(s.setconfig)
             from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
            where r.rolname = %s
              and s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
            order by s.setdatabase""",
        (role,),
    ).fetchall()
    return dict(row[0].partition("=")[::2] for row in rows)
