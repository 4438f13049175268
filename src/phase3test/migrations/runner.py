"""Apply and revert migrations exactly as the Supabase CLI applies them.

Each file runs in one transaction together with its row in the CLI's
history, so a failing file leaves the database as it was. A file containing
a statement that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`,
`VACUUM`, ...) runs statement by statement instead, and its errors say so.
An error names the file, line, column, statement, SQLSTATE and PL/pgSQL
context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg

from phase3test.errors import Phase3TestError, SetupError
from phase3test.migrations.discovery import Migration, Rollback
from phase3test.migrations.history import applied_checksums, ensure_history, forget, record, verify
from phase3test.migrations.statements import Locator, Statement, needs_autocommit


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
        return "\n".join(
            [
                self.located(),
                f"  {Path(self.path).name} was rolled back; migrations before it stay applied."
                if self.transactional
                else f"  {Path(self.path).name} ran outside a transaction (it needs to): "
                "statements before this one stay applied.",
            ]
        )

    def located(self) -> str:
        """Where it failed and why, without what that did to the migration chain."""
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
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in _ERROR_FIELDS}

    @classmethod
    def from_json(cls, data: dict) -> MigrationError:  # type: ignore[type-arg]
        return cls(**{k: data[k] for k in _ERROR_FIELDS})


_ERROR_FIELDS = ("path", "line", "column", "statement", "message", "sqlstate", "context", "transactional")


class IrreversibleMigrationError(Phase3TestError):
    """Asked to roll back a migration that declares it cannot be."""


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


def apply(conn: psycopg.Connection, migration: Migration, observe: Callable[[Statement], None] | None = None) -> None:
    """Apply one file and record it, all or nothing where Postgres allows; `observe` is called after each
    statement, inside the file's transaction when it has one (the lock profile looks there)."""
    _run_script(conn, migration, lambda statements: record(conn, migration, statements), observe)


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
    _run_script(conn, rollback.script, lambda _statements: forget(conn, rollback.migration))


def run_file(conn: psycopg.Connection, path: Path) -> None:
    """Run a SQL file that is not a migration (a seed file) as the CLI runs one: in one transaction unless a
    statement forbids it, an error located as a migration's would be."""
    _run_script(conn, Migration(path, "", path.stem), lambda _statements: None)


def _run_script(
    conn: psycopg.Connection,
    script: Migration,
    bookkeeping: Callable[[list[Statement]], None],
    observe: Callable[[Statement], None] | None = None,
) -> None:
    """Run a file's statements, then `bookkeeping`, in one transaction unless a statement forbids it."""
    statements = script.statements
    if statements is None:
        # Our parser rejected the file: let the server report the syntax error
        # with its position, and record the file as one statement if it passes.
        statements = [Statement(script.text, 0, 1, 1)]
    before, after = script.around
    if any(needs_autocommit(s) for s in statements):
        _run_around(conn, before)
        for statement in statements:
            _execute(conn, script, statement, transactional=False)
            if observe is not None:
                observe(statement)
        with conn.transaction():
            _run_around(conn, after)
            bookkeeping(statements)
        return
    with conn.transaction():
        _run_around(conn, before)
        for statement in statements:
            _execute(conn, script, statement, transactional=True)
            if observe is not None:
                observe(statement)
        _run_around(conn, after)
        bookkeeping(statements)


def _run_around(conn: psycopg.Connection, sql: str) -> None:
    """What the platform runs around a file (`Migration.around`), when there is anything."""
    if sql:
        conn.execute(sql)


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
    line, column = Locator(migration.text)(offset)
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
