"""History and new migrations: which files each suite holds to its rules.

A project that adopts the gate has years of migrations written to run once:
the Supabase CLI never re-runs an applied file, so they were never made
idempotent and rarely have rollbacks. Holding them to the per-file rules
would fail a project on files nobody may edit (the base-ref check forbids
it). So migrations production has applied — those on the base ref, and
those at or before the version recorded when the project adopted the gate —
are history: the per-file suites check only the files after them, while the
suites that check the whole schema check everything. Each suite's scope is
a setting (`suites`): new, all or off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from phase3test.errors import SetupError
from phase3test.migrations.discovery import Migration
from phase3test.migrations.gitref import files_on_ref

# Suites whose tests run once per migration file; the others read the schema the whole chain builds.
PER_FILE_SUITES = ("static", "idempotency", "rollbacks", "reruns", "profile")
WHOLE_SCHEMA_SUITES = ("access", "api_access", "rls_cost", "security", "advisors", "matviews", "refresh_path", "pgtap")
NEW, ALL, OFF = "new", "all", "off"


@dataclass(frozen=True)
class SuiteModes:
    """Each suite's scope: the `suites` setting over the defaults (per-file suites new, the others all)."""

    given: tuple[tuple[str, str], ...] = ()

    def mode(self, suite: str) -> str:
        return dict(self.given).get(suite, NEW if suite in PER_FILE_SUITES else ALL)

    def __str__(self) -> str:
        return " ".join(f"{suite}={mode}" for suite, mode in self.given)


def parse_suite_modes(text: str) -> SuiteModes:
    """`"idempotency=all rollbacks=off"` (spaces or commas between) as SuiteModes; every mistake named."""
    given: dict[str, str] = {}
    problems = []
    for entry in filter(None, re.split(r"[\s,]+", text)):
        suite, _, mode = entry.partition("=")
        if suite not in PER_FILE_SUITES + WHOLE_SCHEMA_SUITES:
            problems.append(f"{suite!r} is no suite ({', '.join(PER_FILE_SUITES + WHOLE_SCHEMA_SUITES)})")
        elif suite in WHOLE_SCHEMA_SUITES and mode not in (ALL, OFF):
            problems.append(f"{suite}={mode}: {suite} checks the whole schema, so all or off")
        elif mode not in (NEW, ALL, OFF):
            problems.append(f"{suite}={mode}: the mode is new, all or off")
        else:
            given[suite] = mode
    if problems:
        raise SetupError("; ".join(problems), hint='e.g. "idempotency=all rollbacks=off"')
    return SuiteModes(tuple(given.items()))


def parse_version(text: str) -> str:
    """A migration version as the CLI reads it from a file name: digits."""
    if not text.isdigit():
        raise SetupError(f"{text!r} is not a migration version (the digits before the first _ of a file name)")
    return text


@dataclass(frozen=True)
class History:
    """The migrations production has applied, and why they count as such."""

    versions: frozenset[str]
    why: str  # e.g. "up to 20241120083000 (adopted_at) and on origin/main"

    def new(self, migrations: Sequence[Migration]) -> list[Migration]:
        return [migration for migration in migrations if migration.version not in self.versions]

    def describe(self, migrations: Sequence[Migration]) -> str:
        """One line for the report header: how many files are history, how many new."""
        if not self.versions:
            return f"no history recorded ({self.why}): every suite checks all {len(migrations)} migration(s)"
        new = self.new(migrations)
        return (
            f"{len(migrations) - len(new)} migration(s) are history ({self.why}), {len(new)} new: "
            "the per-file suites check the new ones (setting `suites`)"
        )


def project_history(
    migrations: Sequence[Migration], migrations_dir: Path, adopted_at: str | None, base_ref: str | None
) -> History:
    """The files up to the adoption version (compared as the CLI orders files: by name) and those on the base
    ref (read through git); either may be absent."""
    versions = {m.version for m in migrations if adopted_at is not None and m.version <= adopted_at}
    if base_ref:
        versions |= files_on_ref(migrations_dir, base_ref).keys()
    reasons = ([f"up to {adopted_at} (adopted_at)"] if adopted_at else []) + ([f"on {base_ref}"] if base_ref else [])
    return History(frozenset(versions), " and ".join(reasons) or "no adopted_at, no base ref")
