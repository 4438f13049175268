"""CHANGELOG.md: one entry per migration, newest first: what it changes, and whether it can be undone and how.

Like the migration index it is generated from the files, so it cannot drift: the migration's header comment
says what it changes (its `Depends on:` and `Idempotent:` paragraphs left to the index), its rollback's
first paragraph how it is undone; a file declared irreversible says why, and a missing rollback says so.
"""

from __future__ import annotations

import re

from phase3test.docs.migration_index import header
from phase3test.migrations.discovery import Migration, Rollback, discover, rollback_for
from phase3test.project import SupabaseProject

_LEFT_TO_THE_INDEX = re.compile(r"^(depends on|idempotent):", re.IGNORECASE)


def render(project: SupabaseProject) -> str:
    lines = [
        "# Changelog",
        "",
        "One entry per migration in `supabase/migrations/`, newest first: what it changes and whether it can be",
        "undone. Generated from each file's header comment and its rollback by `phase3test docs`; a test fails",
        "when this file is out of date: edit the migration or the rollback, not this page.",
    ]
    for migration in reversed(discover(project.migrations_dir).migrations):
        rollback = rollback_for(migration, project.rollbacks_dir)
        lines += [
            "",
            f"## {migration.version} `{migration.path.name}`",
            "",
            *_changes(migration),
            "",
            _way_back(rollback),
        ]
    return "\n".join(lines) + "\n"


def _changes(migration: Migration) -> list[str]:
    """The header's paragraphs, but for those the migration index shows (dependencies, idempotency)."""
    paragraphs = _paragraphs(header(migration))
    kept = [paragraph for paragraph in paragraphs if not _LEFT_TO_THE_INDEX.match(paragraph[0])]
    if not kept:
        return ["(no header comment)"]
    return [line for paragraph in kept for line in [*paragraph, ""]][:-1]


def _way_back(rollback: Rollback) -> str:
    if rollback.irreversible:
        return f"**Irreversible**: {rollback.irreversible}"
    if rollback.script is None:
        return "**No rollback**: the static suite fails on it."
    first = _paragraphs(header(rollback.script))
    how = " ".join(first[0]) if first else "(its rollback has no header comment)"
    return f"**Reversible** (`rollbacks/{rollback.expected_path.name}`): {how}"


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """Comment lines split at blank ones."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [paragraph for paragraph in paragraphs if paragraph]
