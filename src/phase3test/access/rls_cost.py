"""What row-level security costs the API: per table and role, a typical PostgREST read as that role against the
same read as `service_role`, which bypasses RLS.

Two reads per cell, as a client makes them: a page (`select * ... limit 20`) and a count (`select count(*)`);
for a role that reads its own rows, a third: the page a client gets that filters on them (the matrix's `own`
predicate), which is what Supabase recommends and what an index can serve.
Each is timed by the server (`EXPLAIN ANALYZE`'s execution time, so no network or client in the figure),
`REPEATS` times, role and service role in turn, and the medians compared. A cell whose ratio is over the
project's `rls_cost_max_ratio`, and whose read costs at least `rls_cost_min_ms` more than the service role's
(below that the ratio of two tiny figures is noise), is flagged with the policies that apply and the likely
cause, read from the role's plan:

- a function of the request (`auth.uid()`, `auth.jwt()`, an app-role lookup) called once per row, because
  the policy does not wrap it as `(select ...)` (then Postgres runs it once, as an InitPlan);
- a subquery run for every row (a join in the policy): correlated, not hashed;
- every row of the table read and filtered, where no index leads with the column the policy compares to
  the caller (or the policy ORs a role check with an own-row condition, which no index can serve).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from phase3test.access.matrix import Matrix, Role
from phase3test.access.probes import REFUSED, acting, role_users

REPEATS = 5
PAGE_ROWS = 20
READS = {
    "page": f"select * from {{}} limit {PAGE_ROWS}",
    "count": "select count(*) from {}",
}
# A role that reads its own rows also reads them as a client that filters on them does (`.eq('customer_id',
# uid)`): a page under the matrix's `own` predicate with the user's id written out (`as_sent`), which an index
# can serve where the policy's OR cannot.
OWN_PAGE = "own page"
CALLER = re.compile(r"\(\s*select\s+auth\.uid\(\)\s*\)|auth\.uid\(\)", re.IGNORECASE)
SERVICE_ROLE = Role("service_role", "service_role", None)
# Functions of the request a policy means to call once per statement. Found in a plan's filter (not as an
# InitPlan's `$n`), they run per row; auth.uid() and auth.jwt() are inlined there as current_setting() calls.
REQUEST_CALLS = (
    (re.compile(r"current_setting\('request\.jwt\.claim\.sub'"), "auth.uid()"),
    (re.compile(r"current_setting\('request\.jwt\.claims'"), "auth.jwt()"),
    (re.compile(r"\bauth\.(?:uid|jwt|role|email)\(\)"), None),  # not inlined: named as written
    (re.compile(r"\b[a-z_]+\.current_app_role\(\)"), None),
)
FILTERED_SHARE = 10  # a scan that throws away ten rows per row it keeps reads the table to find the caller's


@dataclass(frozen=True)
class Cost:
    """One cell's read: its medians as the role and as the service role, and why it may be slow."""

    table: str
    rows: int  # the table's, as the superuser counts them
    role: str
    read: str  # a key of READS, or OWN_PAGE
    role_ms: float
    service_ms: float
    policies: tuple[str, ...]
    causes: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.role_ms / max(self.service_ms, 0.001)

    def flagged(self, max_ratio: float, min_ms: float) -> bool:
        return self.ratio > max_ratio and self.role_ms - self.service_ms >= min_ms

    def line(self) -> str:
        causes = "; ".join(self.causes) or "no cause read from the plan"
        return (
            f"{self.role} {self.read} on {self.table} ({self.rows:,} rows): {self.role_ms:.2f} ms against "
            f"{self.service_ms:.2f} ms as "
            f"service_role (x{self.ratio:.1f}); policies {', '.join(self.policies) or 'none'}: {causes}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table, "rows": self.rows, "role": self.role, "read": self.read,
            "role_ms": round(self.role_ms, 3), "service_ms": round(self.service_ms, 3), "ratio": round(self.ratio, 2),
            "policies": list(self.policies), "causes": list(self.causes),
        }  # fmt: skip


def readable_tables(matrix: Matrix) -> list[str]:
    """The tables of the matrix some signed-in role may select from: the ones whose reads RLS can slow."""
    signed_in = [name for name, role in matrix.roles.items() if role.api_role == "authenticated"]
    return [
        table
        for table, access in matrix.tables.items()
        if any(access.expected("select", role) != "deny" for role in signed_in)
    ]


def measure(conn: psycopg.Connection, matrix: Matrix, table: str) -> list[Cost]:
    """Every role the matrix lets read `table` (a signed-in role, acting as its first user), every read."""
    access = matrix.tables[table]
    schema, _, name = table.partition(".")
    target = sql.Identifier(schema, name)
    counted = conn.execute(sql.SQL(READS["count"]).format(target)).fetchone()
    rows = int(counted[0]) if counted else 0
    costs = []
    for role_name, role in matrix.roles.items():
        users = role_users(conn, role)
        if role.api_role != "authenticated" or access.expected("select", role_name) == "deny" or not users:
            continue
        reads = {read: sql.SQL(template).format(target) for read, template in READS.items()}
        own = access.own.get("select")
        if access.expected("select", role_name) == "own" and own:
            reads[OWN_PAGE] = sql.SQL("select * from {} where ({}) limit {}").format(
                target, as_sent(own, users[0]), sql.Literal(PAGE_ROWS)
            )
        policies = _policies(conn, table, role)
        for read, query in reads.items():
            # service_role with the same user's claims: a filter on auth.uid() reads as it does for them.
            service = _median(conn, SERVICE_ROLE, users[0], query)
            timed = _median(conn, role, users[0], query)
            if service is None or timed is None:
                continue  # refused: the access suite says so
            role_ms, plan = timed
            costs.append(Cost(table, rows, role_name, read, role_ms, service[0], policies, causes(conn, table, plan)))
    return costs


def as_sent(own: str, user: str) -> sql.Composed:
    """The `own` predicate as a client sends it: the user's id written out where it says auth.uid().

    A filter on auth.uid() itself would not do: the function is not leakproof, so Postgres applies it only
    after the policy, never through an index; PostgREST's `customer_id=eq.<id>` is a plain value."""
    parts = CALLER.split(own)
    sent: list[sql.Composable] = [sql.SQL(parts[0])]
    for part in parts[1:]:
        sent += [sql.Literal(user), sql.SQL("::uuid"), sql.SQL(part)]
    return sql.Composed(sent)


def _median(conn: psycopg.Connection, role: Role, user: str | None, query: sql.Composed) -> tuple[float, dict] | None:
    """The median execution time of `query` as the role and its last plan; None when the role may not read."""
    explain = sql.SQL("explain (analyze, format json) {}").format(query)
    times, plan = [], {}
    for _ in range(REPEATS):
        result = acting(conn, role, user, lambda: _plan(conn, explain))
        if result == REFUSED:
            return None
        if isinstance(result, str):
            raise RuntimeError(f"{role.name} reading: {result}")
        plan = result
        times.append(plan["Execution Time"])
    return statistics.median(times), plan


def _plan(conn: psycopg.Connection, explain: sql.Composed) -> dict[str, Any]:
    row = conn.execute(explain).fetchone()
    assert row is not None  # EXPLAIN returns its plan
    return row[0][0]


def _policies(conn: psycopg.Connection, table: str, role: Role) -> tuple[str, ...]:
    """The permissive policies a select by the role's API role goes through."""
    rows = conn.execute(
        """select policyname from pg_policies
            where schemaname || '.' || tablename = %s and permissive = 'PERMISSIVE' and cmd in ('SELECT', 'ALL')
              and (%s = any (roles) or 'public' = any (roles))
            order by policyname""",
        (table, role.api_role),
    ).fetchall()
    return tuple(name for (name,) in rows)


def causes(conn: psycopg.Connection, table: str, plan: dict[str, Any]) -> tuple[str, ...]:
    """The likely causes of a slow read, from the plan of the role's query on `table`."""
    schema, _, name = table.partition(".")
    found: list[str] = []
    for node in _nodes(plan["Plan"]):
        condition = " ".join(node.get(key, "") for key in ("Filter", "Index Cond", "Recheck Cond"))
        on_table = node.get("Relation Name") == name and node.get("Schema", schema) == schema
        for call in per_row_calls(condition):
            found.append(f"calls {call} once per row: wrap it as (select {call}) so it runs once")
        if "SubPlan" in condition and "hashed SubPlan" not in condition:
            found.append(
                "runs a subquery for every row (a join in the policy): compare to a set, `col in (select ...)`"
            )
        removed = node.get("Rows Removed by Filter", 0)
        if on_table and node["Node Type"] == "Seq Scan" and removed > FILTERED_SHARE * (node.get("Actual Rows", 0) + 1):
            found.append(_full_read(conn, table, node.get("Filter", "")))
    return tuple(dict.fromkeys(found))


def per_row_calls(condition: str) -> list[str]:
    """The request functions a plan's condition calls for each row, as a policy would have written them."""
    calls: dict[str, None] = {}
    for pattern, name in REQUEST_CALLS:
        for found in pattern.findall(condition):
            calls[name or found] = None
    if "auth.uid()" in calls:
        calls.pop("auth.jwt()", None)  # auth.uid() reads both settings
    return list(calls)


def _full_read(conn: psycopg.Connection, table: str, condition: str) -> str:
    """Why a scan read every row to find the caller's: the column no index leads with, or an OR no index serves."""
    columns = [column for column in _columns(conn, table) if re.search(rf"\b{re.escape(column)}\b", condition)]
    unindexed = [column for column in columns if not _leads_an_index(conn, table, column)]
    if unindexed:
        return f"reads every row: no index leads with {', '.join(unindexed)}, which the policy compares"
    if " OR " in condition:
        return "reads every row: the policy ORs conditions (a role check and an own-row one) no index serves together"
    return "reads every row to keep a few: the policy's filter has no index to use"


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def _leads_an_index(conn: psycopg.Connection, table: str, column: str) -> bool:
    found = conn.execute(
        """select exists (select from pg_index i join pg_attribute a
                                 on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                           where i.indrelid = %s::regclass and a.attname = %s)""",
        (table, column),
    ).fetchone()
    return found == (True,)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def grid(costs: list[Cost], max_ratio: float, min_ms: float) -> list[str]:
    """A Markdown table × role grid: each cell's page, count and (own rows) filtered page ratios, `**bold**` when
    flagged."""
    roles = list(dict.fromkeys(cost.role for cost in costs))
    tables = list(dict.fromkeys(cost.table for cost in costs))
    by_cell = {(cost.table, cost.role, cost.read): cost for cost in costs}
    rows = {cost.table: cost.rows for cost in costs}
    lines = ["| table (rows) | " + " | ".join(roles) + " |", "| --- |" + " ---: |" * len(roles)]
    for table in tables:
        cells = []
        for role in roles:
            shown = []
            for read in (*READS, OWN_PAGE):
                cost = by_cell.get((table, role, read))
                if cost is not None:
                    ratio = f"x{cost.ratio:.1f}"
                    shown.append(f"**{ratio}**" if cost.flagged(max_ratio, min_ms) else ratio)
            cells.append(" / ".join(shown) or "-")
        lines.append(f"| `{table}` ({rows[table]:,}) | " + " | ".join(cells) + " |")
    return lines
