"""The access matrix a database actually enforces, inferred for a draft and for review.

For each table the API serves, each role and each operation, the catalog
says what decides: a missing grant, row-level security off, no policy, a
policy that is always true, or policies whose expressions pick rows. That
guess (allow, deny, own with the policies' expressions as the `own`
predicate) is then checked by the same probe the access suite runs, on the
seeded database; when the probe disagrees, the other values are tried, and a
cell no value passes is kept with the reason in its comment. Each cell
carries, as a comment, the grant or the policies that decide it.

App roles are found where most projects keep them: a `role` column of a
table in an exposed schema whose key is the user's id; without one, every
signed-in user is one role, `user`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from phase3test.access import probes
from phase3test.access.matrix import EXECUTE, OPERATIONS, Cell, FunctionAccess, Matrix, Role, TableAccess
from phase3test.access.served import ServedFunction, project_schemas, served_functions, served_tables

_EXPRESSION = {"select": "qual", "delete": "qual", "update": "qual", "insert": "with_check"}
UNCONFIRMED = "UNCONFIRMED"  # marks a cell no probe confirmed, with the reason
INFERRED = Path("<inferred>")  # the path of a matrix no file holds yet
# The values worth probing when the catalog's guess fails, per API role (only a signed-in user owns rows).
_ALTERNATIVES = {
    "anon": ("allow", "deny"),
    "authenticated": ("allow", "own", "deny"),
    "service_role": ("allow", "deny"),
}


@dataclass
class InferredCell:
    value: str
    why: str  # the grant, the policies, or what the probe found

    @property
    def unconfirmed(self) -> bool:
        """No probe confirmed the value: it is the catalog's guess."""
        return UNCONFIRMED in self.why


@dataclass
class InferredTable:
    name: str
    own: dict[str, str] = field(default_factory=dict)  # operation -> predicate
    cells: dict[tuple[str, str], InferredCell] = field(default_factory=dict)  # (operation, role) -> cell


@dataclass
class InferredFunction:
    signature: str
    call: str
    cells: dict[str, InferredCell] = field(default_factory=dict)  # role -> cell


@dataclass
class Inferred:
    roles: dict[str, Role]
    tables: list[InferredTable]
    functions: list[InferredFunction]

    def cells(self) -> list[tuple[str, str, str, InferredCell]]:
        """Every cell as the matrix names it: (table or function, role, operation, cell)."""
        tables = [(t.name, role, op, cell) for t in self.tables for (op, role), cell in t.cells.items()]
        return tables + [(f.signature, role, EXECUTE, cell) for f in self.functions for role, cell in f.cells.items()]


def infer(conn: psycopg.Connection, schemas: list[str]) -> Inferred:
    """The matrix this (seeded) database enforces in the exposed `schemas`, each cell confirmed by a probe
    where the seed data allows."""
    roles = app_roles(conn, project_schemas(schemas))
    tables = [_table(conn, name, roles) for name in served_tables(conn, schemas)]
    functions = [_function(conn, found, roles) for found in served_functions(conn, schemas)]
    return Inferred(roles, tables, functions)


def app_roles(conn: psycopg.Connection, schemas: list[str]) -> dict[str, Role]:
    """anon, the signed-in roles (one per value of a user table's `role` column, else `user`), service_role."""
    signed_in = {"user": Role("user", "authenticated", "select id from auth.users order by id")}
    found = conn.execute(
        """select format('%%I.%%I', n.nspname, c.relname), a.attname, k.attname
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             join pg_attribute a on a.attrelid = c.oid and a.attname in ('role', 'user_role', 'app_role')
             join pg_constraint p on p.conrelid = c.oid and p.contype = 'p' and cardinality(p.conkey) = 1
             join pg_attribute k on k.attrelid = c.oid and k.attnum = p.conkey[1]
            where n.nspname = any (%s) and c.relkind in ('r', 'p')
              and exists (select 1 from pg_constraint f where f.conrelid = c.oid and f.contype = 'f'
                            and f.confrelid = 'auth.users'::regclass and f.conkey = p.conkey)
            order by 1 limit 1""",
        (schemas,),
    ).fetchone()
    if found is not None:
        table, column, key = found
        query = sql.SQL("select distinct {}::text from {} where {} is not null order by 1").format(
            sql.Identifier(column), sql.SQL(table), sql.Identifier(column)
        )
        values = [value for (value,) in conn.execute(query)]
        if values:
            signed_in = {
                _role_name(value): Role(_role_name(value), "authenticated", f"select {key} from {table} where "
                                        f"{column}::text = {_literal(value)} order by {key}")
                for value in values
            }  # fmt: skip
    return {"anon": Role("anon", "anon", None), **signed_in, "service_role": Role("service_role", "service_role", None)}


def _role_name(value: str) -> str:
    """A matrix role named after an app role, apart from the API roles' own names."""
    return f"{value}_user" if value in ("anon", "service_role") else value


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class _Policies:
    """The policies of one table that apply to one API role and command."""

    rls: bool
    permissive: list[tuple[str, str]]  # (name, expression)
    restrictive: list[tuple[str, str]]

    def predicate(self) -> str:
        """The rows the role reaches: any permissive policy's, and every restrictive one's."""
        either = [expr for _, expr in self.permissive]
        whole = either[0] if len(either) == 1 else "(" + " or ".join(either) + ")"
        return " and ".join([whole, *(expr for _, expr in self.restrictive)])

    def names(self) -> str:
        return ", ".join(f'"{name}"' for name, _ in self.permissive + self.restrictive)


def _policies(conn: psycopg.Connection, table: str, api_role: str, operation: str) -> _Policies:
    rls = conn.execute("select relrowsecurity from pg_class where oid = %s::regclass", (table,)).fetchone()
    column = _EXPRESSION[operation]
    rows = conn.execute(
        f"""select policyname, permissive, coalesce({column}, qual, 'true') from pg_policies
             where format('%%I.%%I', schemaname, tablename) = %s and cmd in (upper(%s), 'ALL')
               and (%s = any (roles) or 'public' = any (roles))
             order by policyname""",
        (table, operation, api_role),
    ).fetchall()
    return _Policies(
        bool(rls and rls[0]),
        [(name, expr) for name, kind, expr in rows if kind == "PERMISSIVE"],
        [(name, expr) for name, kind, expr in rows if kind == "RESTRICTIVE"],
    )


def _table(conn: psycopg.Connection, name: str, roles: dict[str, Role]) -> InferredTable:
    """Each cell guessed from the catalog (once per API role: every app role is `authenticated` to it), then
    confirmed by the probe per role."""
    inferred = InferredTable(name)
    for operation in OPERATIONS:
        signed_in = _policies(conn, name, "authenticated", operation)
        if signed_in.rls and signed_in.permissive and not _always_true(signed_in):
            inferred.own[operation] = signed_in.predicate()
        guesses = {
            api_role: _guess(conn, name, api_role, operation) for api_role in {r.api_role for r in roles.values()}
        }
        for role in roles.values():
            guess = guesses[role.api_role]
            inferred.cells[(operation, role.name)] = InferredCell(guess.value, guess.why)
    # The probes read a table's `own` predicates; the values to test come with each cell.
    matrix = Matrix(INFERRED, roles, {name: TableAccess(name, {op: {} for op in OPERATIONS}, dict(inferred.own))})
    for (operation, role_name), cell in inferred.cells.items():
        _confirm(conn, matrix, inferred, Cell(name, role_name, operation, cell.value), roles[role_name].api_role)
    return inferred


def _always_true(policies: _Policies) -> bool:
    return any(expr.strip().lower() == "true" for _, expr in policies.permissive) and not policies.restrictive


def _guess(conn: psycopg.Connection, table: str, api_role: str, operation: str) -> InferredCell:
    """What the catalog says decides this cell."""
    if not probes.holds_privilege(conn, api_role, table, operation):
        return InferredCell("deny", f"no {operation} grant to {api_role}")
    if api_role == "service_role":
        return InferredCell("allow", f"{operation} granted to service_role, which bypasses row-level security")
    policies = _policies(conn, table, api_role, operation)
    if not policies.rls:
        return InferredCell("allow", f"row-level security off; {operation} granted to {api_role}")
    if not policies.permissive:
        return InferredCell("deny", f"row-level security on, no {operation} policy for {api_role}")
    if _always_true(policies):
        return InferredCell("allow", f"policy {policies.names()}: true")
    if api_role == "anon":
        return InferredCell("deny", f"policy {policies.names()} picks rows; anon owns none")
    return InferredCell("own", f"policy {policies.names()}")


def _confirm(conn: psycopg.Connection, matrix: Matrix, table: InferredTable, cell: Cell, api_role: str) -> None:
    """Probe the guess; when it fails, or passes only for want of rows to check (an `own` no seeded row
    belongs to), the first other value the probe confirms fully; else the first that passed at all, or the
    guess, saying why."""
    guess = table.cells[(cell.operation, cell.role)]
    tried = [guess.value, *(v for v in _ALTERNATIVES[api_role] if v != guess.value)]
    doubts: list[str] = []
    passed: str | None = None
    for value in tried:
        if value == "own" and cell.operation not in table.own:
            continue
        verdict = probes.check(conn, matrix, Cell(cell.table, cell.role, cell.operation, value))
        if not verdict.doubts():
            _settle(guess, value)
            return
        doubts.append("; ".join(verdict.doubts()))
        passed = passed or (value if not verdict.problems and not verdict.nothing_to_act_on else None)
    _settle(guess, passed or guess.value)
    guess.why += f" — {UNCONFIRMED}: {doubts[0]}"


def _settle(guess: InferredCell, value: str) -> None:
    if value != guess.value:
        guess.why = f"the probe found {value} ({guess.why}: {guess.value})"
        guess.value = value


def _function(conn: psycopg.Connection, served: ServedFunction, roles: dict[str, Role]) -> InferredFunction:
    signature = served.signature
    inferred = InferredFunction(signature, served.call_with_nulls)
    matrix = Matrix(INFERRED, roles, {}, {signature: FunctionAccess(signature, (), served.call_with_nulls)})
    for role in roles.values():
        may = conn.execute(
            "select has_function_privilege(%s, %s::oid, 'execute')", (role.api_role, served.oid)
        ).fetchone() == (True,)
        cell = InferredCell("allow" if may else "deny", f"execute {'granted' if may else 'not granted'} to "
                                                        f"{role.api_role}")  # fmt: skip
        problems = probes.check(conn, matrix, Cell(signature, role.name, EXECUTE, cell.value)).problems
        if problems:
            cell.why += f" — {UNCONFIRMED}: {'; '.join(problems)}"
        inferred.cells[role.name] = cell
    return inferred
