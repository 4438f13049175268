"""The access matrix: who may do what on every exposed table, declared and reviewed like code.

`fixtures/rls_matrix.yaml` names the roles (an API role and, for app roles,
the query listing users who hold it) and, per table, which roles may select,
insert, update and delete: `allow` (every row), `own` (the rows the table's
`own` predicate gives the acting user) or, by omission, deny. Loading checks
the file's shape and names every mistake with its table, role and operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from phase3test.errors import SetupError
from phase3test.supabase.roles import API_ROLES

OPERATIONS = ("select", "insert", "update", "delete")
EXECUTE = "execute"  # the one operation on a function the API exposes as RPC
VALUES = ("allow", "own", "deny")
_TABLE_KEYS = {*OPERATIONS, "own", "rows", "insert_defaults", "note"}
T = TypeVar("T")


@dataclass(frozen=True)
class Role:
    """How a matrix role acts: its API role and, when signed in, the users who hold it."""

    name: str
    api_role: str
    users: str | None  # SQL listing candidate user ids, in preference order


@dataclass(frozen=True)
class TableAccess:
    table: str
    decisions: dict[str, dict[str, str]]  # operation -> role -> allow | own (absent: deny)
    own: dict[str, str] = field(default_factory=dict)  # operation -> predicate of "the acting user's rows"
    rows: str | None = None
    insert_defaults: tuple[str, ...] = ()
    note: str | None = None

    def expected(self, operation: str, role: str) -> str:
        return self.decisions[operation].get(role, "deny")


@dataclass(frozen=True)
class FunctionAccess:
    """Who may call a function the API exposes (an RPC), and the call that probes it."""

    signature: str  # schema.name(argument types), as the catalog prints it
    allowed: tuple[str, ...]
    call: str
    note: str | None = None


@dataclass(frozen=True)
class Cell:
    """One decision to test: `role` doing `operation` on `table` is `expected`."""

    table: str
    role: str
    operation: str
    expected: str

    @property
    def id(self) -> str:
        return f"{self.table}-{self.role}-{self.operation}"


@dataclass
class Matrix:
    path: Path
    roles: dict[str, Role]
    tables: dict[str, TableAccess] = field(default_factory=dict)
    functions: dict[str, FunctionAccess] = field(default_factory=dict)
    anon_may_execute: tuple[str, ...] = ()  # SECURITY DEFINER functions anon may call: schema.name(args)
    definer_views: tuple[str, ...] = ()  # views the API reads with their owner's rights, on purpose: schema.name

    def cells(self) -> list[Cell]:
        tables = [
            Cell(table, role, operation, access.expected(operation, role))
            for table, access in sorted(self.tables.items())
            for operation in OPERATIONS
            for role in self.roles
        ]
        functions = [
            Cell(name, role, EXECUTE, "allow" if role in access.allowed else "deny")
            for name, access in sorted(self.functions.items())
            for role in self.roles
        ]
        return tables + functions


def load(path: Path) -> Matrix:
    """Read and check a matrix file; every problem is reported at once, each with its file:line:column (of the
    role, table or function it is about) as editors and CI annotations read them."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise SetupError(f"cannot read the access matrix {path}: {exc}", hint=_HINT) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SetupError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}", hint=_HINT) from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(key), dict) for key in ("roles", "tables")):
        raise SetupError(f"{path}:1:1: expected top-level `roles:` and `tables:` mappings", hint=_HINT)
    at = _Locations(path, text)
    problems: list[str] = []
    roles = at.each("roles", data["roles"], _role, problems)
    tables = at.each("tables", data["tables"], lambda n, spec, found: _table(n, spec or {}, roles, found), problems)
    functions = at.each(
        "functions", data.get("functions") or {}, lambda n, spec, found: _function(n, spec, roles, found), problems
    )
    anon = _names(data, "anon_may_execute", "function signatures, e.g. public.f(uuid)", at, problems)
    views = _names(data, "definer_views", "view names, e.g. public.leaderboard", at, problems)
    known = ("roles", "tables", "functions", "anon_may_execute", "definer_views")
    problems += [
        at.located((key,), f"unknown top-level key {key!r} (expected {', '.join(known)})")
        for key in sorted(set(data) - set(known))
    ]
    if problems:
        raise SetupError(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(problems), hint=_HINT)
    return Matrix(path, roles, tables, functions, anon, views)


class _Locations:
    """Where the file writes each key of its first two levels (a section, a role, table or function)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.marks: dict[tuple[str, ...], tuple[int, int]] = {}
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        for key, value in root.value if isinstance(root, yaml.MappingNode) else []:
            self.marks[(key.value,)] = (key.start_mark.line + 1, key.start_mark.column + 1)
            for entry, _ in value.value if isinstance(value, yaml.MappingNode) else []:
                self.marks[(key.value, entry.value)] = (entry.start_mark.line + 1, entry.start_mark.column + 1)

    def located(self, key: tuple[str, ...], problem: str) -> str:
        line, column = self.marks.get(key) or self.marks.get(key[:1]) or (1, 1)
        return f"{self.path}:{line}:{column}: {problem}"

    def each(
        self, section: str, entries: dict[str, Any], build: Callable[[str, Any, list[str]], T], problems: list[str]
    ) -> dict[str, T]:
        """Each entry of a section built, its problems located at its key."""
        built = {}
        for name, spec in entries.items():
            found: list[str] = []
            built[name] = build(name, spec, found)
            problems += [self.located((section, name), problem) for problem in found]
        return built


def _names(data: dict[str, Any], key: str, expected: str, at: _Locations, problems: list[str]) -> tuple[str, ...]:
    """A top-level list of names; a problem (and nothing) when it is something else."""
    names = data.get(key) or []
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        problems.append(at.located((key,), f"{key}: expected a list of {expected}"))
        return ()
    return tuple(names)


_HINT = "see docs/testing.md, 'The access matrix'"


def _role(name: str, spec: Any, problems: list[str]) -> Role:
    if not isinstance(spec, dict) or spec.get("api_role") not in API_ROLES:
        problems.append(f"role {name}: `api_role` must be one of {', '.join(API_ROLES)}")
        return Role(name, "anon", None)
    users = spec.get("users")
    if spec["api_role"] == "authenticated" and not isinstance(users, str):
        problems.append(f"role {name}: a signed-in role needs `users:`, a query listing the ids of users who hold it")
    return Role(name, spec["api_role"], users)


def _table(name: str, spec: Any, roles: dict[str, Role], problems: list[str]) -> TableAccess:
    if not isinstance(spec, dict):
        problems.append(f"{name}: expected a mapping of operations")
        return TableAccess(name, {op: {} for op in OPERATIONS})
    for key in sorted(set(spec) - _TABLE_KEYS):
        problems.append(f"{name}: unknown key {key!r} (expected {', '.join(sorted(_TABLE_KEYS))})")
    own = _own(name, spec.get("own"), problems)
    decisions: dict[str, dict[str, str]] = {}
    for operation in OPERATIONS:
        if operation not in spec:
            problems.append(f"{name}: no `{operation}:` decision (write `{operation}: {{}}` if nobody may)")
        given = spec.get(operation) or {}
        if not isinstance(given, dict):
            problems.append(f"{name} {operation}: expected a mapping of role -> allow | own | deny")
            given = {}
        for role, value in given.items():
            if role not in roles:
                problems.append(f"{name} {operation}: unknown role {role!r}")
            if value not in VALUES:
                problems.append(f"{name} {operation} {role}: {value!r} is not one of {', '.join(VALUES)}")
            if value == "own" and operation not in own:
                problems.append(f"{name} {operation} {role}: `own` needs the table's `own:` predicate for {operation}")
            if value == "own" and role in roles and roles[role].api_role != "authenticated":
                problems.append(f"{name} {operation} {role}: only a signed-in role can own rows")
        decisions[operation] = {role: value for role, value in given.items() if value != "deny"}
    defaults = spec.get("insert_defaults") or []
    if not isinstance(defaults, list) or not all(isinstance(column, str) for column in defaults):
        problems.append(f"{name}: `insert_defaults:` must be a list of column names, e.g. [status, created_at]")
        defaults = []
    for key in ("rows", "note"):
        if key in spec and not isinstance(spec[key], str):
            problems.append(f"{name}: `{key}:` must be text")
    return TableAccess(name, decisions, own, spec.get("rows"), tuple(defaults), spec.get("note"))


def _function(name: str, spec: Any, roles: dict[str, Role], problems: list[str]) -> FunctionAccess:
    """`schema.f(argtypes): {execute: {role: allow}, call: "schema.f(...)"}`; no arguments, no `call` needed."""
    if not isinstance(spec, dict) or not isinstance(spec.get(EXECUTE), dict):
        problems.append(f"{name}: expected `execute:`, a mapping of role -> allow | deny")
        return FunctionAccess(name, (), name)
    for key in sorted(set(spec) - {EXECUTE, "call", "note"}):
        problems.append(f"{name}: unknown key {key!r} (expected execute, call, note)")
    for role, value in spec[EXECUTE].items():
        if role not in roles:
            problems.append(f"{name} execute: unknown role {role!r}")
        if value not in ("allow", "deny"):
            problems.append(f"{name} execute {role}: {value!r} is not one of allow, deny")
    call = spec.get("call") or (name if name.endswith("()") else None)
    if call is None:
        problems.append(f"{name}: a function with arguments needs `call:`, the expression that probes it")
    allowed = tuple(role for role, value in spec[EXECUTE].items() if value == "allow")
    return FunctionAccess(name, allowed, call or name, spec.get("note"))


def _own(name: str, given: Any, problems: list[str]) -> dict[str, str]:
    """`own:` is one predicate for every operation, or a mapping of operation -> predicate."""
    if given is None:
        return {}
    if isinstance(given, str):
        return dict.fromkeys(OPERATIONS, given)
    if isinstance(given, dict) and all(op in OPERATIONS and isinstance(p, str) for op, p in given.items()):
        return dict(given)
    problems.append(f"{name}: `own:` must be a predicate, or a mapping of operation -> predicate")
    return {}
