"""Supabase's own advisors on the migrated, seeded database: what the dashboard's linter would say.

ERROR-level lints fail, each named with its object and Supabase's page on
it; WARN and INFO lints go to the report. The `advisors_accepted` setting
names lints the project accepts, one object each, with the reason; an
acceptance that no longer matches anything fails, so the list stays true.
Where the CLI is missing the suite skips and says so.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from phase3test.fixtures import ServerInfo
from phase3test.report.regression import ADVISORS
from phase3test.settings import Settings
from phase3test.supabase import advisors
from phase3test.supabase.cli import find_cli


def test_supabase_advisors_find_nothing_the_project_has_not_accepted(
    fresh_db: psycopg.Connection,
    pg_server: ServerInfo,
    pg_settings: Settings,
    record_property: Callable[[str, object], None],
) -> None:
    project = pg_settings.project
    cli = find_cli(project.root.parent)
    if cli is None:
        pytest.skip("the Supabase CLI is not installed (npm install supabase)")
    accepted = advisors.load_accepted(pg_settings.advisors_accepted) if pg_settings.advisors_accepted else []
    url = pg_server.conninfo(fresh_db.info.dbname)
    if pg_server.backend != "external":  # our own servers speak no TLS; the CLI insists unless told
        url += "?sslmode=disable"
    found = advisors.run(cli, project.root.parent, url)
    open_lints = [lint for lint in found if not any(a.covers(lint) for a in accepted)]
    record_property(ADVISORS, [lint.to_json() for lint in open_lints])
    errors = [lint.line() for lint in open_lints if lint.fails(project.api_schemas())]
    stale = [f"{a.lint} on {a.object}" for a in accepted if not any(a.covers(lint) for lint in found)]
    assert not errors, "Supabase's advisors report (accept one with its reason in advisors_accepted):\n" + "\n".join(
        errors
    )  # check: advisors.errors
    assert not stale, (  # check: advisors.stale_acceptance
        f"{pg_settings.advisors_accepted} accepts lints the advisors no longer report (remove them): "
        + ", ".join(stale)
    )
