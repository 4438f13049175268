"""pgTAP files under `supabase/tests/` as pytest items: what `supabase test db` runs, in parallel, in our report.

Each `*.sql` file is one item. It runs on a database of its own, cloned from
the run's migrated (and, with seeders, seeded) template, with the `pgtap`
extension created first. Its statements run in order and every text row they
return is TAP output (`ok 1 - name`, `not ok 2 - name`, `# diagnostics`,
`1..N`). The item fails on any `not ok` that is not a TODO, on a plan that
does not match the tests run, and on an error, naming each assertion. Where
the server has no pgTAP (Debian: postgresql-15-pgtap) the items are skipped
with that reason. pgTAP goes into `extensions`, as `supabase test db` puts it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from phase3test.migrations.statements import Statement, split_statements
from phase3test.report.regression import PGTAP

_RESULT = re.compile(
    r"^(?P<ok>not ok|ok)\b\s*(?P<number>\d+)?\s*(?:-\s*)?(?P<name>[^#]*?)\s*(?:#\s*(?P<directive>.*))?$"
)
_PLAN = re.compile(r"^1\.\.(?P<count>\d+)")


@dataclass
class Assertion:
    number: int
    ok: bool
    name: str
    directive: str = ""  # "TODO ..." or "SKIP ..."
    diagnostics: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return not self.ok and not self.directive.upper().startswith("TODO")


@dataclass
class Tap:
    planned: int | None = None
    assertions: list[Assertion] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = [
            f"not ok {a.number} - {a.name}" + "".join(f"\n    {d}" for d in a.diagnostics)
            for a in self.assertions
            if a.failed
        ]
        if self.planned is not None and self.planned != len(self.assertions):
            found.append(f"planned {self.planned} tests but ran {len(self.assertions)}")
        if self.planned is None and not self.assertions:
            found.append("no TAP output: the file runs no pgTAP assertion")
        return found


def parse(lines: list[str]) -> Tap:
    tap = Tap()
    for line in lines:
        if plan := _PLAN.match(line):
            tap.planned = int(plan.group("count"))
        elif result := _RESULT.match(line):
            number = int(result.group("number") or len(tap.assertions) + 1)
            tap.assertions.append(
                Assertion(number, result.group("ok") == "ok", result.group("name"), result.group("directive") or "")
            )
        elif line.startswith("#") and tap.assertions:
            tap.assertions[-1].diagnostics.append(line)
    return tap


class FileError(Exception):
    """A statement of a pgTAP file failed: where, why, and the TAP lines printed before it."""

    def __init__(self, path: Path, statement: Statement, error: psycopg.Error, lines: list[str]) -> None:
        super().__init__(str(error))
        self.path, self.statement, self.error, self.lines = path, statement, error, lines

    def __str__(self) -> str:
        ran = parse(self.lines).assertions
        after = f"after assertion {ran[-1].number} - {ran[-1].name}" if ran else "before any assertion"
        first_line = self.statement.text.strip().splitlines()[0]
        return (
            f"{self.path.name}:{self.statement.line}:{self.statement.column}: ERROR {self.error.sqlstate}: "
            f"{self.error.diag.message_primary or self.error} ({after})\n    {first_line}"
        )


def output(conn: psycopg.Connection, path: Path) -> list[str]:
    """Run the file's statements in order; every text value they return, split into lines."""
    text = path.read_text(encoding="utf-8")
    statements = split_statements(text)
    if statements is None:
        pytest.fail(f"{path}: not valid SQL (libpg_query could not split it)", pytrace=False)  # check: pgtap.parses
    lines: list[str] = []
    for statement in statements:
        try:
            cursor = conn.execute(statement.text)
        except psycopg.Error as exc:
            raise FileError(path, statement, exc, lines) from None
        if cursor.description:
            for row in cursor.fetchall():
                lines += [line for value in row if isinstance(value, str) for line in value.splitlines()]
    return lines


class PgTapFile(pytest.File):
    """A pgTAP file: one test, run by `run_file` with the `fresh_db` fixture."""

    def collect(self) -> Iterator[pytest.Item]:
        yield pytest.Function.from_parent(self, name=self.path.name, callobj=functools.partial(run_file, self.path))


def run_file(path: Path, fresh_db: psycopg.Connection, record_property: Callable[[str, object], None]) -> None:
    """Run one pgTAP file on its own database and fail with every assertion that failed."""
    if not fresh_db.execute("select 1 from pg_available_extensions where name = 'pgtap'").fetchone():
        pytest.skip("pgTAP is not available on this server (Debian: apt-get install postgresql-15-pgtap)")
    # As `supabase test db` does before it runs the files.
    fresh_db.execute("create extension if not exists pgtap with schema extensions")
    error: str | None = None
    try:
        tap = parse(output(fresh_db, path))
    except FileError as failed:
        error = str(failed)
    if error is not None:  # outside the handler: the report shows this one message, not a chain of exceptions
        pytest.fail(error, pytrace=False)  # check: pgtap.runs
    record_property(
        PGTAP, {"file": _under_tests(path), "assertions": [[a.number, a.ok, a.name] for a in tap.assertions]}
    )
    problems = tap.problems()
    if problems:
        pytest.fail(
            f"{path.name}: {len(problems)} problem(s)\n" + "\n".join(problems), pytrace=False
        )  # check: pgtap.assertions


def _under_tests(path: Path) -> str:
    """The file's path below its `tests` folder (two files of one name in sub-folders stay apart)."""
    parts = path.parts
    return "/".join(parts[len(parts) - parts[::-1].index("tests") :]) if "tests" in parts else path.name


def is_pgtap_file(path: Path, tests_dir: Path) -> bool:
    return path.suffix == ".sql" and tests_dir in path.parents
