"""Supabase's own advisors (its linter, splinter) on a database of the run, through the pinned CLI.

`supabase db advisors --db-url ... --type all --level info -o json` runs
offline against any database. Its ERROR-level lints fail the gate; WARN and
INFO go to the report. A project may accept a named lint on a named object,
with its reason, in a YAML file (the `advisors_accepted` setting):

    - {lint: security_definer_view, object: public.leaderboard, reason: "..."}
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from phase3test.errors import SetupError
from phase3test.supabase.cli import invoke

ERROR = "ERROR"
# ERROR-level lints a check of the security suite already fails on in the schemas the API exposes (the same
# finding, with a way to declare an exception in the matrix, and no CLI needed): reported here, failed there,
# never twice. In any other schema no check looks (policy_exists_rls_disabled lints every schema): they fail here.
COVERED_BY_SECURITY_SUITE = {
    "rls_disabled_in_public": "security.rls_enabled",
    "policy_exists_rls_disabled": "security.rls_enabled",
    "security_definer_view": "security.definer_views",
    "auth_users_exposed": "security.no_api_readable_matview_or_auth_view",
}


@dataclass(frozen=True)
class Lint:
    """One finding of the advisors: which lint, how grave, on what, and Supabase's page about it."""

    name: str
    level: str
    object: str  # schema.name, or the lint's own key when it names no object
    detail: str
    remediation: str
    title: str  # the lint's name in words, as the dashboard shows it

    def fails(self, api_schemas: Collection[str]) -> bool:
        """An ERROR the security suite does not already fail on: its checks read the API's schemas only."""
        covered = self.name in COVERED_BY_SECURITY_SUITE and self.object.partition(".")[0] in api_schemas
        return self.level == ERROR and not covered

    def line(self) -> str:
        return f"{self.name} ({self.level}) on {self.object}: {self.detail} ({self.remediation})"

    def to_json(self) -> dict[str, str]:
        return {
            "lint": self.name, "level": self.level, "object": self.object, "detail": self.detail,
            "remediation": self.remediation, "title": self.title,
        }  # fmt: skip


@dataclass(frozen=True)
class Accepted:
    """A lint a project accepts on one object, and why."""

    lint: str
    object: str
    reason: str

    def covers(self, lint: Lint) -> bool:
        return (self.lint, self.object) == (lint.name, lint.object)


def run(cli: Path, project_root: Path, db_url: str) -> list[Lint]:
    """Every lint of every type and level the advisors report on the database at `db_url`."""
    done = invoke(
        cli, project_root, "db", "advisors", "--db-url", db_url, "--type", "all", "--level", "info", "-o", "json",
        separate_errors=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SetupError(f"`supabase db advisors` failed ({done.returncode}):\n{done.stderr.strip()}")
    return parse(done.stdout)


def parse(output: str) -> list[Lint]:
    """The CLI's JSON: a list of lints, each with its metadata (schema, name) where it names an object."""
    found = json.loads(output or "[]")
    return [_lint(entry) for entry in found or []]


def _lint(entry: dict[str, Any]) -> Lint:
    metadata = entry.get("metadata") or {}
    schema, name = metadata.get("schema"), metadata.get("name")
    where = f"{schema}.{name}" if schema and name else str(entry.get("cache_key", entry["name"]))
    return Lint(
        entry["name"], entry["level"], where, entry.get("detail", ""), entry.get("remediation", ""),
        entry.get("title", ""),
    )  # fmt: skip


def load_accepted(path: Path) -> list[Accepted]:
    """The accepted lints of `path`; every entry needs a lint, an object and a reason."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read the accepted advisors {path}: {exc}") from exc
    if not isinstance(data, list):
        raise SetupError(f"{path}: expected a list of {{lint, object, reason}} entries")
    accepted, problems = [], []
    for number, entry in enumerate(data, start=1):
        if not (isinstance(entry, dict) and all(isinstance(entry.get(k), str) and entry[k].strip()
                                                 for k in ("lint", "object", "reason"))):  # fmt: skip
            problems.append(f"entry {number}: needs lint, object and a reason, got {entry!r}")
            continue
        accepted.append(Accepted(entry["lint"], entry["object"], entry["reason"]))
    if problems:
        raise SetupError(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return accepted
