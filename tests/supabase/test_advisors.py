"""Supabase's advisors through the pinned CLI on a real server: what a lint is called, on what, how grave,
and Supabase's remedy; accepted lints and their reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase3test.errors import SetupError
from phase3test.supabase.advisors import Lint, load_accepted, run
from phase3test.supabase.cli import find_cli

CLI = find_cli(Path(__file__).resolve().parents[2])
needs_cli = pytest.mark.skipif(CLI is None, reason="the Supabase CLI is not installed (npm ci)")


@needs_cli
def test_each_lint_names_its_table_level_and_remedy_and_fails_unless_a_security_check_has_it(
    empty_db, pg_server, tmp_path
):
    empty_db.execute(
        "create table public.open_notes (id bigint primary key, author_email varchar(255));"
        "grant select on public.open_notes to anon;"
        "create unique index users_email_key on auth.users (email);"
        "alter table public.open_notes add foreign key (author_email) references auth.users (email)"
    )
    assert CLI is not None
    found = run(CLI, tmp_path, pg_server.conninfo(empty_db.info.dbname) + "?sslmode=disable")
    on_notes = {lint.name: lint for lint in found if lint.object == "public.open_notes"}
    assert len(found) == len(on_notes) == 3, "the bootstrap alone has no lint, as a fresh Supabase project"
    rls_off, auth_key = on_notes["rls_disabled_in_public"], on_notes["fkey_to_auth_unique"]
    assert (rls_off.level, auth_key.level) == ("ERROR", "ERROR")
    assert rls_off.remediation.endswith("database-linter?lint=0013_rls_disabled_in_public")
    assert not rls_off.fails(["public"]), "security.rls_enabled fails on it: one flaw, one failure"
    assert auth_key.fails(["public"])
    assert "`open_notes_author_email_fkey`" in auth_key.detail
    assert rls_off.title == "RLS Disabled in Public"


@needs_cli
def test_a_covered_lint_fails_here_in_a_schema_the_security_checks_do_not_read(empty_db, pg_server, tmp_path):
    empty_db.execute(
        "create schema private; create table private.notes (id bigint primary key);"
        "create policy own on private.notes for select to authenticated using (true)"
    )
    assert CLI is not None
    [lint] = run(CLI, tmp_path, pg_server.conninfo(empty_db.info.dbname) + "?sslmode=disable")
    assert (lint.name, lint.level, lint.object) == ("policy_exists_rls_disabled", "ERROR", "private.notes")
    assert lint.fails(["public"]), "security.rls_enabled reads the API's schemas only"
    assert not lint.fails(["public", "private"])


@needs_cli
def test_a_database_the_cli_cannot_reach_is_a_setup_error_with_the_clis_words(tmp_path):
    assert CLI is not None
    with pytest.raises(SetupError, match=r"`supabase db advisors` failed \(1\):\n.*"):
        run(CLI, tmp_path, "postgresql://postgres@127.0.0.1:1/postgres?sslmode=disable")


def test_an_acceptance_covers_its_lint_on_its_object_only(tmp_path):
    (tmp_path / "advisors.yaml").write_text(
        "- {lint: unused_index, object: public.notes, reason: a fresh database has served no query}\n"
    )
    [accepted] = load_accepted(tmp_path / "advisors.yaml")
    assert accepted.covers(Lint("unused_index", "INFO", "public.notes", "", "", ""))
    assert not accepted.covers(Lint("unused_index", "INFO", "public.tags", "", "", ""))
    assert not accepted.covers(Lint("unindexed_foreign_keys", "INFO", "public.notes", "", "", ""))


def test_an_acceptance_without_a_reason_is_refused(tmp_path):
    (tmp_path / "advisors.yaml").write_text("- {lint: fkey_to_auth_unique, object: public.notes}\n")
    with pytest.raises(SetupError, match=r"entry 1: needs lint, object and a reason"):
        load_accepted(tmp_path / "advisors.yaml")
