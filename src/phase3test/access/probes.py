"""Check one cell of the access matrix on seeded data, acting exactly as PostgREST would.

Rows are named by `ctid` as the superuser sees them. Each attempt runs in a
savepoint that is rolled back, so a cell leaves the database as it found it:

- select: the set of rows the role sees, against every row (`allow`), none
  (`deny`) or the acting user's own rows (`own`);
- update: a no-op `update t set c = c` on one row, on a column the role may
  update, so guards that fire on changed values stay out of it;
- delete: `delete` of one row (a foreign key stopping it means RLS let it
  through);
- insert: one row deleted by the superuser (triggers and foreign keys off for
  that moment) and inserted again as the role, with the columns it may insert.

`own` checks both sides: the user's own row is reachable, someone else's not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from phase3test.access.matrix import EXECUTE, Cell, FunctionAccess, Matrix, Role, TableAccess
from phase3test.supabase.prelude import STORAGE_API_DELETES, as_role

REFUSED = "refused"
T = TypeVar("T")


@dataclass
class Probe:
    conn: psycopg.Connection
    access: TableAccess
    role: Role

    # One statement can update or delete every row of the entry at once (through the API: one row per request).
    acts_on_whole_tables: ClassVar[bool] = True

    def __post_init__(self) -> None:
        schema, _, name = self.access.table.partition(".")
        self.table = sql.Identifier(schema, name)
        self.scope = sql.SQL(f"({self.access.rows})" if self.access.rows else "true")

    # What the superuser sees ---------------------------------------------------

    def all_rows(self) -> list[str]:
        query = sql.SQL("select ctid::text from {} where {} order by ctid").format(self.table, self.scope)
        return [ctid for (ctid,) in self.conn.execute(query)]

    def own_rows(self, user: str, operation: str) -> set[str]:
        """The rows the operation's `own` predicate gives `user`, evaluated by the superuser with the user's claims."""
        with self.conn.transaction(force_rollback=True):
            self.conn.execute(
                "select set_config('request.jwt.claims', %s, true)",
                (json.dumps({"sub": user, "role": "authenticated"}),),
            )
            query = sql.SQL("select ctid::text from {} where {} and ({})").format(
                self.table, self.scope, sql.SQL(self.access.own.get(operation, "false"))
            )
            return {ctid for (ctid,) in self.conn.execute(query)}

    def users(self) -> list[str]:
        return role_users(self.conn, self.role)

    def columns(self, privilege: str) -> list[str]:
        """Columns the role's API role holds `privilege` on, leaving out those it could not set anyway."""
        rows = self.conn.execute(
            """select a.attname from pg_attribute a
                where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
                  and a.attgenerated = '' and a.attidentity <> 'a'
                  and has_column_privilege(%s, a.attrelid, a.attnum, %s)
                order by a.attnum""",
            (self.access.table, self.role.api_role, privilege),
        ).fetchall()
        return [name for (name,) in rows]

    # What the role does ---------------------------------------------------------

    def sees(self, user: str | None) -> set[str] | str:
        query = sql.SQL("select ctid::text from {} where {}").format(self.table, self.scope)
        return acting(self.conn, self.role, user, lambda: {ctid for (ctid,) in self.conn.execute(query)})

    def updates(self, user: str | None, ctid: str | None) -> int | str:
        """Rows a no-op update reaches: the row `ctid`, or with None every row of the entry."""
        columns = self.columns("UPDATE")
        if not columns:
            return REFUSED
        column = sql.Identifier(columns[0])
        query = sql.SQL("update {} set {} = {} where {}").format(self.table, column, column, self._target(ctid))
        return acting(self.conn, self.role, user, lambda: self.conn.execute(query, (ctid,) if ctid else ()).rowcount)

    def deletes(self, user: str | None, ctid: str | None) -> int | str:
        """Rows a delete reaches: the row `ctid`, or with None every row of the entry."""
        query = sql.SQL("delete from {} where {}").format(self.table, self._target(ctid))

        def attempt() -> int | str:
            try:
                with self.conn.transaction():
                    if self.access.table.startswith("storage."):
                        # Clients delete storage rows only through the Storage API, which passes its own
                        # delete protection this way; RLS still decides.
                        self.conn.execute(STORAGE_API_DELETES)
                    return self.conn.execute(query, (ctid,) if ctid else ()).rowcount
            except psycopg.errors.ForeignKeyViolation:
                # RLS let it through; a foreign key stopped it
                return 1 if ctid else "went through row-level security (a foreign key stopped it)"

        return acting(self.conn, self.role, user, attempt)

    def _target(self, ctid: str | None) -> sql.Composable:
        return sql.SQL("ctid = %s::tid") if ctid else self.scope

    def inserts(self, user: str | None, ctid: str) -> int | str:
        """Delete the row as the superuser, then insert it again as the role: 1 if it went in."""
        columns = [c for c in self.columns("INSERT") if c not in self.access.insert_defaults]
        with self.conn.transaction(force_rollback=True):
            self.conn.execute("set local session_replication_role = replica")
            deleted = self.conn.execute(
                sql.SQL("delete from {} t where ctid = %s::tid returning to_jsonb(t)").format(self.table), (ctid,)
            ).fetchone()
            self.conn.execute("set local session_replication_role = origin")
            if not columns or deleted is None:
                return REFUSED
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            query = sql.SQL("insert into {} ({}) select {} from jsonb_populate_record(null::{}, %s)").format(
                self.table, names, names, self.table
            )
            return acting(self.conn, self.role, user, lambda: self.conn.execute(query, (Jsonb(deleted[0]),)).rowcount)


def role_users(conn: psycopg.Connection, role: Role) -> list[str]:
    """The users who hold the role, in the matrix's order of preference (none for an API role alone)."""
    return [str(user) for (user, *_) in conn.execute(role.users)] if role.users else []


def nobody_to_act_as(role: Role, users: list[str]) -> list[str]:
    """A signed-in role is checked as one of its users: the problem when its `users` query found none."""
    if role.api_role == "authenticated" and not users:
        return [f"role {role.name}: its `users` query found nobody in this database"]
    return []


def acting(conn: psycopg.Connection, role: Role, user: str | None, action: Callable[[], T]) -> T | str:
    """Run `action` as the role in a savepoint rolled back afterwards.

    REFUSED when a privilege, a policy's WITH CHECK or a guard says no
    (SQLSTATE 42501); any other error comes back as its description.
    """
    try:
        with conn.transaction(force_rollback=True):
            as_role(conn, role.api_role, user=user)
            return action()
    except psycopg.errors.InsufficientPrivilege:
        return REFUSED
    except psycopg.Error as exc:
        return f"failed with {exc.sqlstate}: {exc.diag.message_primary or exc}"


class UncheckedAccess(UserWarning):
    """Part of a cell the seed data gives nothing to check on (pytest lists these in its warnings summary)."""


@dataclass
class Verdict:
    """What is wrong with a cell ([] when reality matches the matrix), and what could not be checked: part of
    it (`unchecked`), or all of it for want of rows to act on (`nothing_to_act_on`)."""

    problems: list[str]
    unchecked: list[str]
    nothing_to_act_on: str = ""

    def doubts(self) -> list[str]:
        """Why the cell is not confirmed as declared: its problems, else what was left unchecked."""
        if self.problems or self.unchecked:
            return self.problems or self.unchecked
        return [self.nothing_to_act_on] if self.nothing_to_act_on else []


def check(
    conn: psycopg.Connection,
    matrix: Matrix,
    cell: Cell,
    probe_for: Callable[[TableAccess, Role], Probe] | None = None,
) -> Verdict:
    """Test one cell on this database; `probe_for` makes the probe that acts (by default in SQL, as PostgREST)."""
    if cell.operation == EXECUTE:
        return Verdict(_check_call(conn, matrix.functions[cell.table], matrix.roles[cell.role], cell.expected), [])
    access, role = matrix.tables[cell.table], matrix.roles[cell.role]
    verdict = _check_table(conn, access, role, cell, probe_for)
    if verdict.problems and cell.expected != "deny":
        verdict.problems += missing_grant(conn, cell.table, role.api_role, cell.operation)
    return verdict


def holds_privilege(conn: psycopg.Connection, role: str, table: str, operation: str) -> bool:
    """Whether `role` may attempt the operation on `table` at all (on any column for select, insert, update),
    before any policy is read."""
    query = """select case when %(op)s = 'DELETE' then has_table_privilege(%(role)s, %(table)s::regclass, 'DELETE')
                           else has_any_column_privilege(%(role)s, %(table)s::regclass, %(op)s) end"""
    return conn.execute(query, {"op": operation.upper(), "role": role, "table": table}).fetchone() == (True,)


def missing_grant(conn: psycopg.Connection, table: str, api_role: str, operation: str) -> list[str]:
    """Why a role may be refused before any policy is read: it holds no privilege for the operation."""
    if holds_privilege(conn, api_role, table, operation):
        return []
    return [
        f"{api_role} holds no {operation.upper()} privilege on {table}, so no policy can let it through: "
        f"Supabase grants new tables to no API role (since 2026-10-30), a migration must "
        f"(`grant {operation} on {table} to {api_role}`)"
    ]


def _check_table(
    conn: psycopg.Connection,
    access: TableAccess,
    role: Role,
    cell: Cell,
    probe_for: Callable[[TableAccess, Role], Probe] | None,
) -> Verdict:
    probe = probe_for(access, role) if probe_for else Probe(conn, access, role)
    every = probe.all_rows()
    if not every:
        return Verdict([], [], f"no rows in {cell.table}{_scope(probe)} to act on: seed some")
    candidates = probe.users()
    nobody = nobody_to_act_as(probe.role, candidates)
    if nobody:
        return Verdict(nobody, [])
    if cell.expected != "own":
        return Verdict(_check_all_or_nothing(probe, cell, every, candidates), [])
    owner, own = _owner(probe, candidates, cell.operation)
    if own == set(every):
        return Verdict([f"every seeded row of {cell.table} is the acting {cell.role} user's: seed someone else's"], [])
    unchecked = []
    if not own:
        # Someone else's rows can still be shown out of reach; the user's own side waits for seed data.
        predicate = probe.access.own[cell.operation]
        unchecked.append(f"{cell.role} {cell.operation} on {cell.table}: no seeded row is own ({predicate}) for "
                         "any user of the role, so only someone else's rows were checked")  # fmt: skip
        owner = candidates[0] if candidates else None
    if cell.operation == "select":
        seen = probe.sees(owner)
        if not own and isinstance(seen, set):
            return Verdict(_check_select(seen, set(every), set(), "deny", "own (no own rows seeded)"), unchecked)
        return Verdict(_check_select(seen, set(every), own, "own"), unchecked)
    attempt = _attempt(probe, cell)
    problems: list[str] = []
    if own:
        problems += expect(attempt(owner, sorted(own)[0]), True, "the user's own row")  # check: access.own_row_allowed
    other = next(c for c in every if c not in own)
    problems += expect(attempt(owner, other), False, "someone else's row")  # check: access.others_row_denied
    return Verdict(problems, unchecked)


def _check_all_or_nothing(probe: Probe, cell: Cell, every: list[str], candidates: list[str]) -> list[str]:
    """`allow` or `deny`, checked on every row where one statement can, else on a row of the user's and another's.

    Where the table says what owning a row means, the acting user is one who owns some: a deny must hold on
    their own rows too, and an allow must reach rows that are not theirs.
    """
    user: str | None = None
    own: set[str] = set()
    if cell.operation in probe.access.own:
        user, own = _owner(probe, candidates, cell.operation)  # check: access.acts_as_an_owner
    user = user or (candidates[0] if candidates else None)
    if cell.operation == "select":
        return _check_select(probe.sees(user), set(every), own, cell.expected)
    whole_table = cell.operation == "update" or (cell.operation == "delete" and cell.expected == "deny")
    if whole_table and probe.acts_on_whole_tables:
        reached = (probe.updates if cell.operation == "update" else probe.deletes)(user, None)
        return _expect_rows(reached, len(every), cell.expected, cell.operation)
    attempt, allowed = _attempt(probe, cell), cell.expected == "allow"
    # An allow must reach a row that is not the user's; a deny must hold on their own row too. (Not the
    # reverse: deleting the acting user's own profile for the insert probe would take their role away.)
    others = [c for c in every if c not in own][:1]
    targets = (others or every[:1]) if allowed else others + sorted(own)[:1]
    return [
        problem
        for target in targets
        for problem in expect(attempt(user, target), allowed, "the user's own row" if target in own else "a row")
    ]


def _expect_rows(reached: int | str, total: int, expected: str, operation: str) -> list[str]:
    """A statement over every row: `allow` reaches all of them, `deny` none (or is refused)."""
    if isinstance(reached, str):
        if reached == REFUSED:
            return [] if expected == "deny" else [f"expected allow, but the {operation} was refused"]
        return [f"expected {expected}, but the {operation} {reached}"]
    want = total if expected == "allow" else 0
    return [] if reached == want else [f"expected {expected}, but the {operation} reached {reached} of {total} rows"]


def _attempt(probe: Probe, cell: Cell) -> Callable[[str | None, str], int | str]:
    return {"insert": probe.inserts, "update": probe.updates, "delete": probe.deletes}[cell.operation]


def _check_call(conn: psycopg.Connection, function: FunctionAccess, role: Role, expected: str) -> list[str]:
    """Call the function as the role (its first user when signed in): it must run, or be refused."""
    users = role_users(conn, role)
    nobody = nobody_to_act_as(role, users)
    if nobody:
        return nobody
    query = sql.SQL("select count(*) from (select {}) call").format(sql.SQL(function.call))
    outcome = acting(conn, role, users[0] if users else None, lambda: conn.execute(query).fetchone())
    if isinstance(outcome, str) and outcome != REFUSED:
        return [f"expected {expected}, but the call {outcome}"]
    if (outcome == REFUSED) == (expected == "deny"):
        return []
    return [f"expected {expected}, but the call was " + ("refused" if outcome == REFUSED else "allowed")]


def _owner(probe: Probe, candidates: list[str], operation: str) -> tuple[str | None, set[str]]:
    """The first user of the role who owns some rows, with those rows."""
    for user in candidates:
        own = probe.own_rows(user, operation)
        if own:
            return user, own
    return None, set()


def _check_select(
    seen: set[str] | str, every: set[str], own: set[str], expected: str, label: str | None = None
) -> list[str]:
    """What the role sees against what it should: every row, its own (`own`), or none."""
    label = label or expected
    if isinstance(seen, str):
        if seen == REFUSED:
            return [] if expected == "deny" else [f"expected {label}, but reading is refused (no privilege)"]
        return [f"reading {seen}"]
    want = {"allow": every, "own": own, "deny": set()}[expected]
    if seen == want:
        return []
    detail = f"{len(seen & own)} own, {len(seen - own)} of others" if own else ""
    return [f"expected {label}: sees {len(seen)} of {len(every)} rows{f' ({detail})' if detail else ''}"]


def expect(outcome: int | str, allowed: bool, target: str) -> list[str]:
    wanted = "allowed" if allowed else "denied"
    if isinstance(outcome, str) and outcome != REFUSED:
        return [f"on {target}: expected it to be {wanted}, but it {outcome}"]
    went_through = isinstance(outcome, int) and outcome > 0
    if went_through == allowed:
        return []
    seen = (
        "refused (no privilege, a policy's WITH CHECK or a guard)"
        if outcome == REFUSED
        else f"{outcome} row(s) affected"
    )
    return [f"on {target}: expected it to be {wanted}, but {seen}"]


def _scope(probe: Probe) -> str:
    return f" where {probe.access.rows}" if probe.access.rows else ""
