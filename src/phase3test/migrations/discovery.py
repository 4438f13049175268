"""A project's migration files and their rollbacks, found and ordered as the Supabase CLI finds them.

Files follow the CLI's rule `<digits>_<name>.sql`; others are skipped with a
warning, as `supabase db push` skips them. A migration's way back is
`<rollbacks>/<stem>.down.sql`, outside the migrations folder the CLI reads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import psycopg

from phase3test.errors import SetupError
from phase3test.migrations.statements import Statement, split_statements

FILE_RULE = re.compile(r"^([0-9]+)_(.*)\.sql$")


@dataclass(frozen=True)
class Migration:
    """A migration file named by the CLI's rule."""

    path: Path
    version: str
    name: str
    # SQL the runner runs before and after the file, in its transaction: the platform's defaults of the era
    # production applied it in (supabase.platform.Platform.era_of); empty for most files.
    around: tuple[str, str] = ("", "")

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
            f"skipping {p.name}: file name must match <digits>_name.sql (the Supabase CLI skips it too)"
            for p in self.skipped
        ]


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


_SQLSTATE = re.compile(r"[0-9A-Z]{5}")
_IRREVERSIBLE = re.compile(r"^--\s*irreversible:\s*(?P<reason>\S.*)$", re.MULTILINE | re.IGNORECASE)
_REFUSES = re.compile(r"^--\s*refuses:\s*(?P<reason>\S.*)$", re.MULTILINE | re.IGNORECASE)
_CLEARED_BY = re.compile(r"^--\s*cleared by:\s*(?P<sql>\S.*)$", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Refusal:
    """When a rollback refuses on purpose, and the error it refuses with: `-- refuses: <SQLSTATE or condition
    name> <when>`, e.g. `-- refuses: object_in_use while the bucket holds objects`. Only that error counts as
    the declared refusal; any other failure of the rollback is a defect."""

    sqlstate: str | None  # None: the declaration names no SQLSTATE or condition (the static suite says so)
    when: str

    @classmethod
    def parse(cls, declared: str) -> Refusal:
        first, _, rest = declared.partition(" ")
        sqlstate = _sqlstate_of(first)
        return cls(sqlstate, rest.strip() if sqlstate else declared)

    def __str__(self) -> str:
        return f"{self.when} (SQLSTATE {self.sqlstate})" if self.sqlstate else self.when


def _sqlstate_of(word: str) -> str | None:
    """A SQLSTATE as written, or the one a PL/pgSQL condition name (`object_in_use`) stands for."""
    if _SQLSTATE.fullmatch(word):
        return word
    try:
        return str(psycopg.errors.lookup(word.upper()).sqlstate)
    except KeyError:
        return None


@dataclass(frozen=True)
class Rollback:
    """A migration's way back: a script, a declared irreversibility, or (a defect) nothing.

    A script may also declare when it refuses to run and with which error
    (`-- refuses: <SQLSTATE or condition> <when>`), e.g. while rows it cannot
    safely drop exist, and the one statement that clears the way on a test
    database (`-- cleared by: <sql>`, what operations would do first by other
    means). The suites run that statement before rolling back seed data;
    without one, the declared refusal closes the way down.
    """

    migration: Migration
    expected_path: Path
    script: Migration | None
    irreversible: str | None
    refuses: Refusal | None = None
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
        Refusal.parse(refuses.group("reason").strip()) if refuses else None,
        cleared_by.group("sql").strip() if cleared_by else None,
    )
