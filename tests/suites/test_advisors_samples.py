"""The advisors suite, fed the sample project plus one flaw Supabase's linter knows, in a pytest subprocess
that runs the pinned CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_broken_samples import run_suite

from phase3test.supabase.cli import find_cli

pytestmark = pytest.mark.slow

CLI = find_cli(Path(__file__).resolve().parents[2])
needs_cli = pytest.mark.skipif(CLI is None, reason="the Supabase CLI is not installed (npm ci)")

# A foreign key to auth.users' email: Supabase's linter calls it an ERROR (auth may rebuild that index).
EMAIL_KEY = {
    "migrations/20240103000000_authors.sql": "-- Authors by email.\n"
    "create unique index if not exists users_email_key on auth.users (email);\n"
    "alter table public.notes add column if not exists author_email varchar(255)"
    " references auth.users (email);\n",
    "rollbacks/20240103000000_authors.down.sql": "-- irreversible: a broken sample\n",
}


@pytest.fixture
def with_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHASE3TEST_SUPABASE_CLI", str(CLI))


def _accept(project: Path, entries: str) -> None:
    (project / "advisors.yaml").write_text(entries)
    with (project / "pytest.ini").open("a") as ini:
        ini.write("phase3test_advisors_accepted = advisors.yaml\n")


@needs_cli
def test_an_error_lint_fails_naming_the_lint_the_object_and_the_remedy(pytester, broken_project, with_cli):
    project = broken_project(EMAIL_KEY)
    result = run_suite(pytester, "test_advisors", "--pg-report-dir", "reports")
    result.assert_outcomes(failed=1)
    reported = json.loads((project / "reports/report.json").read_text())["advisors"]
    assert {"lint": "fkey_to_auth_unique", "level": "ERROR", "object": "public.notes"}.items() <= next(
        lint for lint in reported if lint["lint"] == "fkey_to_auth_unique"
    ).items()
    assert "- ERROR `fkey_to_auth_unique` (1): `public.notes`" in (project / "reports/report.md").read_text()
    page = (project / "reports/report.html").read_text()
    assert "<h2 id=advisors>Supabase's advisors: " in page
    assert (
        "<tr><td>ERROR</td><td><code>fkey_to_auth_unique</code></td><td>1</td><td><code>public.notes</code></td>"
        "<td>Drop the foreign key constraint that references the auth schema.</td></tr>"
    ) in page
    unused = "<a href='https://supabase.com/docs/guides/database/database-linter?lint=0005_unused_index'>"
    assert page.index("fkey_to_auth_unique") < page.index(unused + "<code>unused_index</code></a>")  # ERROR first
    result.stdout.fnmatch_lines(
        [
            "*Supabase's advisors report (accept one with its reason in advisors_accepted):",
            "*fkey_to_auth_unique (ERROR) on public.notes: Table `public`.`notes` has a foreign key"
            " `notes_author_email_fkey` referencing an auth unique constraint (*)",
        ]
    )


@needs_cli
def test_a_table_with_policies_but_rls_off_outside_the_api_fails_here_where_no_security_check_looks(
    pytester, broken_project, with_cli
):
    broken_project(
        {
            "migrations/20240103000000_private.sql": "-- A private table whose policy does nothing.\n"
            "create schema if not exists private;\n"
            "create table if not exists private.drafts (id bigint primary key);\n"
            "create policy own_drafts on private.drafts for select to authenticated using (true);\n",
            "rollbacks/20240103000000_private.down.sql": "-- irreversible: a broken sample\n",
        }
    )
    result = run_suite(pytester, "test_advisors")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*policy_exists_rls_disabled (ERROR) on private.drafts: *"])


@needs_cli
def test_a_lint_accepted_with_its_reason_passes_and_the_report_keeps_it(pytester, broken_project, with_cli):
    project = broken_project(EMAIL_KEY)
    _accept(project, "- {lint: fkey_to_auth_unique, object: public.notes, reason: a sample that keeps it}\n")
    result = run_suite(pytester, "test_advisors")
    result.assert_outcomes(passed=1)


@needs_cli
def test_an_acceptance_nothing_matches_any_more_fails(pytester, broken_project, with_cli):
    project = broken_project({})
    _accept(project, "- {lint: fkey_to_auth_unique, object: public.notes, reason: fixed since}\n")
    result = run_suite(pytester, "test_advisors")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*advisors.yaml accepts lints the advisors no longer report (remove them):"
            " fkey_to_auth_unique on public.notes"
        ]
    )
