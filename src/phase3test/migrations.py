"""Discover, verify and apply migrations exactly as the Supabase CLI records them.

Files follow the CLI's rule `<digits>_<name>.sql`; others are skipped with a
warning. Each file runs in one transaction together with its row in
`supabase_migrations.schema_migrations(version, statements, name)`, so
`supabase migration list` agrees with us. A file containing a statement that
cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...) runs
statement by statement instead, and its errors say so. We also keep a SHA-256
of every file we applied, so a file edited afterwards is reported, not skipped.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError, split

from phase3test.errors import Phase3TestError, SetupError

FILE_RULE = re.compile(r"^([0-9]+)_(.*)\.sql$")
HISTORY_DDL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
create table if not exists supabase_migrations.phase3test_checksums (
  version text primary key,
  sha256 text not null,
  applied_at timestamptz not null default now()
);
"""
_MAYBE_NON_TRANSACTIONAL = re.compile(r"\b(concurrently|vacuum|database|system|tablespace)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement of a file, with where it starts (1-based line and column)."""

    text: str
    offset: int
    line: int
    column: int


@dataclass(frozen=True)
class Migration:
    """A migration file named by the CLI's rule."""

    path: Path
    version: str
    name: str

    @cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @cached_property
    def statements(self) -> list[Statement] | None:
        """The file split by Postgres' own grammar; None if it does not parse."""
        return split_statements(self.text)


@dataclass(frozen=True)
class Discovery:
    migrations: list[Migration]
    skipped: list[Path]

    def warnings(self) -> list[str]:
        return [
            f"skipping {p.name}: file name must match <timestamp>_name.sql (the Supabase CLI skips it too)"
            for p in self.skipped
        ]


_IRREVERSIBLE = re.compile(r"^--\s*irreversible:\s*(?P<reason>\S.*)$", re.MULTILINE | re.IGNORECASE)
_REFUSES = re.compile(r"^--\s*refuses:\s*(?P<reason>\S.*)$", re.MULTILINE | re.IGNORECASE)
_CLEARED_BY = re.compile(r"^--\s*cleared by:\s*(?P<sql>\S.*)$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Rollback:
    """A migration's way back: a script, a declared irreversibility, or (a defect) nothing.

    A script may also declare when it refuses to run (`-- refuses: <when>`),
    e.g. while rows it cannot safely drop exist, and the one statement that
    clears the way on a test database (`-- cleared by: <sql>`, what operations
    would do first by other means). The suites run that statement before
    rolling back seed data; without one, a refusal closes the way down.
    """

    migration: Migration
    expected_path: Path
    script: Migration | None
    irreversible: str | None
    refuses: str | None = None
    cleared_by: str | None = None

    @property
    def missing(self) -> bool:
        return self.script is None and self.irreversible is None


def rollback_for(migration: Migration, rollbacks_dir: Path) -> Rollback:
    """`<rollbacks_dir>/<stem>.down.sql`; a file whose comment says `-- irreversible: <reason>` declares none."""
    path = rollbacks_dir / f"{migration.path.stem}.down.sql"
    if not path.is_file():
        return Rollback(migration, path, None, None)
    script = Migration(path, migration.version, migration.name)
    declared = _IRREVERSIBLE.search(script.text)
    if declared:
        return Rollback(migration, path, None, declared.group("reason").strip())
    refuses, cleared_by = _REFUSES.search(script.text), _CLEARED_BY.search(script.text)
    return Rollback(
        migration,
        path,
        script,
        None,
        refuses.group("reason").strip() if refuses else None,
        cleared_by.group("sql").strip() if cleared_by else None,
    )


def discover(migrations_dir: Path) -> Discovery:
    """Migration files in the CLI's order (by file name); duplicate versions are an error."""
    try:
        entries = sorted(p for p in migrations_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise SetupError(f"cannot read migrations folder {migrations_dir}: {exc}") from exc
    migrations, skipped = [], []
    seen: dict[str, Path] = {}
    for path in entries:
        match = FILE_RULE.match(path.name)
        if not match:
            skipped.append(path)
            continue
        version = match.group(1)
        if version in seen:
            raise SetupError(
                f"two migrations share version {version}: {seen[version].name} and {path.name}",
                hint="give one of them a new timestamp (`supabase migration new` does)",
            )
        seen[version] = path
        migrations.append(Migration(path, version, match.group(2)))
    return Discovery(migrations, skipped)


def split_statements(sql: str) -> list[Statement] | None:
    """Split with libpg_query (handles dollar quotes and BEGIN ATOMIC bodies)."""
    try:
        slices = split(sql, with_parser=True, only_slices=True)
    except ParseError:
        return None
    locate = _Locator(sql)
    return [Statement(sql[s], s.start, *locate(s.start)) for s in slices]


class _Locator:
    """Character offset to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1


def needs_autocommit(statement: Statement) -> bool:
    """True for statements Postgres refuses inside a transaction block."""
    if not _MAYBE_NON_TRANSACTIONAL.search(statement.text):
        return False
    node = parse_sql(statement.text)[0].stmt
    if isinstance(node, (ast.IndexStmt, ast.DropStmt)):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    if isinstance(node, ast.VacuumStmt):
        return bool(node.is_vacuumcmd)
    return isinstance(
        node,
        (ast.CreatedbStmt, ast.DropdbStmt, ast.AlterSystemStmt, ast.CreateTableSpaceStmt, ast.DropTableSpaceStmt),
    )


class MigrationError(Phase3TestError):
    """A migration file failed: where, what Postgres said, and what state it left."""

    def __init__(
        self,
        path: str,
        line: int,
        column: int,
        statement: str,
        message: str,
        sqlstate: str | None,
        context: str | None = None,
        transactional: bool = True,
    ) -> None:
        self.path, self.line, self.column = path, line, column
        self.statement, self.message, self.sqlstate = statement, message, sqlstate
        self.context, self.transactional = context, transactional
        super().__init__(self.render())

    def render(self) -> str:
        shown = self.statement.strip()
        if shown.count("\n") > 8:
            shown = "\n".join(shown.splitlines()[:8]) + "\n..."
        lines = [
            f"{self.path}:{self.line}:{self.column}: ERROR {self.sqlstate or '-----'}: {self.message}",
            "  statement:",
            *("    " + line for line in shown.splitlines()),
        ]
        if self.context:
            lines.append(f"  context: {self.context}")
        lines.append(
            f"  {Path(self.path).name} was rolled back; migrations before it stay applied."
            if self.transactional
            else f"  {Path(self.path).name} ran outside a transaction (it needs to): "
            "statements before this one stay applied."
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in _ERROR_FIELDS}

    @classmethod
    def from_json(cls, data: dict) -> MigrationError:  # type: ignore[type-arg]
        return cls(**{k: data[k] for k in _ERROR_FIELDS})


_ERROR_FIELDS = ("path", "line", "column", "statement", "message", "sqlstate", "context", "transactional")


class MigrationDriftError(Phase3TestError):
    """The database's history and the files on disk disagree."""


class IrreversibleMigrationError(Phase3TestError):
    """Asked to roll back a migration that declares it cannot be."""


def ensure_history(conn: psycopg.Connection) -> None:
    """Create the CLI's history table (same shape as `supabase db push`) and our checksums."""
    with conn.transaction():
        conn.execute(HISTORY_DDL)


def applied_checksums(conn: psycopg.Connection) -> dict[str, str | None]:
    """Applied versions with the checksum we recorded (None: applied by another tool)."""
    rows = conn.execute(
        """select m.version, c.sha256
             from supabase_migrations.schema_migrations m
             left join supabase_migrations.phase3test_checksums c using (version)"""
    ).fetchall()
    return dict(rows)


def verify(migrations: Iterable[Migration], applied: Mapping[str, str | None]) -> list[Migration]:
    """Return the pending migrations, or explain how history and files disagree."""
    migrations = list(migrations)
    by_version = {m.version: m for m in migrations}
    problems = []
    for version, checksum in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            problems.append(f"version {version} is applied to the database but has no file in the migrations folder")
        elif checksum is not None and checksum != migration.checksum:
            problems.append(
                f"{migration.path.name} was edited after it was applied "
                f"(applied sha256 {checksum[:12]}, file now {migration.checksum[:12]}); "
                "revert the edit and put the change in a new migration"
            )
    pending = [m for m in migrations if m.version not in applied]
    latest = max(applied, default=None)
    for migration in pending:
        if latest is not None and migration.version < latest:
            problems.append(
                f"{migration.path.name} would be inserted before the last applied migration {latest}; "
                "rename it with a newer timestamp"
            )
    if problems:
        raise MigrationDriftError("migration history does not match the files:\n  " + "\n  ".join(problems))
    return pending


def migrate(conn: psycopg.Connection, migrations: Iterable[Migration]) -> list[Migration]:
    """Apply every pending migration in order; return those applied.

    `conn` must be in autocommit mode: each file brings its own transaction.
    """
    if not conn.autocommit:
        raise ValueError("migrate() needs an autocommit connection; each file opens its own transaction")
    ensure_history(conn)
    pending = verify(migrations, applied_checksums(conn))
    for migration in pending:
        apply(conn, migration)
    return pending


def apply(conn: psycopg.Connection, migration: Migration) -> None:
    """Apply one file and record it, all or nothing where Postgres allows."""
    _run_script(conn, migration, lambda statements: _record(conn, migration, statements))


def reapply(conn: psycopg.Connection, migration: Migration) -> None:
    """Run an applied file again exactly as `apply` does, without touching the history (idempotency checks)."""
    _run_script(conn, migration, lambda _statements: None)


def revert(conn: psycopg.Connection, rollback: Rollback) -> None:
    """Run a migration's rollback file and remove its history row, all or nothing where Postgres allows."""
    if rollback.irreversible:
        raise IrreversibleMigrationError(
            f"{rollback.migration.path.name} is declared irreversible: {rollback.irreversible}"
        )
    if rollback.script is None:
        raise SetupError(
            f"{rollback.migration.path.name} has no rollback",
            hint=f"add {rollback.expected_path} or declare it irreversible there (-- irreversible: <reason>)",
        )
    _run_script(conn, rollback.script, lambda _statements: _forget(conn, rollback.migration))


def _run_script(conn: psycopg.Connection, script: Migration, bookkeeping: Callable[[list[Statement]], None]) -> None:
    """Run a file's statements, then `bookkeeping`, in one transaction unless a statement forbids it."""
    statements = script.statements
    if statements is None:
        # Our parser rejected the file: let the server report the syntax error
        # with its position, and record the file as one statement if it passes.
        statements = [Statement(script.text, 0, 1, 1)]
    if any(needs_autocommit(s) for s in statements):
        for statement in statements:
            _execute(conn, script, statement, transactional=False)
        with conn.transaction():
            bookkeeping(statements)
        return
    with conn.transaction():
        for statement in statements:
            _execute(conn, script, statement, transactional=True)
        bookkeeping(statements)


def _execute(conn: psycopg.Connection, migration: Migration, statement: Statement, transactional: bool) -> None:
    try:
        conn.execute(statement.text)
    except psycopg.Error as exc:
        raise _error_from(migration, statement, exc, transactional) from None


def _error_from(migration: Migration, statement: Statement, exc: psycopg.Error, transactional: bool) -> MigrationError:
    diag = exc.diag
    offset = statement.offset
    if diag.statement_position:
        offset += int(diag.statement_position) - 1
    line, column = _Locator(migration.text)(offset)
    shown = statement.text
    if statement.offset == 0 and len(statement.text) == len(migration.text):
        shown = migration.text.splitlines()[line - 1] if migration.text else ""
    return MigrationError(
        path=str(migration.path),
        line=line,
        column=column,
        statement=shown,
        message=diag.message_primary or str(exc).strip(),
        sqlstate=diag.sqlstate,
        context=diag.context,
        transactional=transactional,
    )


def _forget(conn: psycopg.Connection, migration: Migration) -> None:
    conn.execute("delete from supabase_migrations.schema_migrations where version = %s", (migration.version,))
    conn.execute("delete from supabase_migrations.phase3test_checksums where version = %s", (migration.version,))


def _record(conn: psycopg.Connection, migration: Migration, statements: list[Statement]) -> None:
    conn.execute(
        "insert into supabase_migrations.schema_migrations (version, name, statements) values (%s, %s, %s)",
        (migration.version, migration.name, [s.text for s in statements]),
    )
    conn.execute(
        """insert into supabase_migrations.phase3test_checksums (version, sha256) values (%s, %s)
           on conflict (version) do update set sha256 = excluded.sha256, applied_at = now()""",
        (migration.version, migration.checksum),
    )
