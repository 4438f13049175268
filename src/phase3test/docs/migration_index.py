"""The migration index: each file's purpose, dependencies and rollback, from the files themselves.

A migration's header comment is its documentation: the first paragraph is its
purpose, a `Depends on:` line its dependencies. Its rollback comes from
`supabase/rollbacks/`.
"""

from __future__ import annotations

import re

from phase3test.migrations.discovery import Migration, discover, rollback_for
from phase3test.project import SupabaseProject

_DEPENDS = re.compile(r"^depends on:\s*(?P<what>.+)$", re.IGNORECASE)


def header(migration: Migration) -> list[str]:
    """The leading `--` comment lines of a migration (or a rollback script), without the dashes."""
    lines = []
    for line in migration.text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return lines


def purpose(lines: list[str]) -> str:
    paragraph = []
    for line in lines:
        if not line or _DEPENDS.match(line):
            break
        paragraph.append(line)
    return " ".join(paragraph) or "(no header comment)"


def depends_on(lines: list[str]) -> str:
    """The `Depends on:` paragraph (it may wrap over several comment lines)."""
    for index, line in enumerate(lines):
        match = _DEPENDS.match(line)
        if match:
            rest = []
            for more in lines[index + 1 :]:
                if not more:
                    break
                rest.append(more)
            return " ".join([match.group("what").strip(), *rest])
    return "the migrations before it"


def render(project: SupabaseProject) -> str:
    lines = [
        "# Migration index",
        "",
        "Generated from the files in `supabase/migrations/` and `supabase/rollbacks/` by",
        "`phase3test docs`; a test fails when this file is out of date. Each file's header",
        "comment is the source: edit the migration, not this page.",
        "",
        "| version | file | purpose | depends on | rollback |",
        "| --- | --- | --- | --- | --- |",
    ]
    for migration in discover(project.migrations_dir).migrations:
        rollback = rollback_for(migration, project.rollbacks_dir)
        if rollback.irreversible:
            way_back = f"**irreversible**: {rollback.irreversible}"
        elif rollback.missing:
            way_back = "**missing**"
        else:
            way_back = f"`rollbacks/{rollback.expected_path.name}`"
        text = header(migration)
        lines.append(
            f"| {migration.version} | `{migration.path.name}` | {purpose(text)} | {depends_on(text)} | {way_back} |"
        )
    return "\n".join(lines) + "\n"
