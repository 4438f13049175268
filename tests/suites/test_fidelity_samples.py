"""Sample projects written the way real Supabase projects are (tests/samples/<name>), each run through the
suites in a pytest subprocess: what Supabase accepts passes, and the gate's findings on them are true ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT
from test_broken_samples import run_suite
from test_pgtap import _pgtap_installed, needs_pgtap

from phase3test.supabase.cli import find_cli

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def sample(pytester: pytest.Pytester, home: Path):
    """`sample(name)`: a copy of tests/samples/<name> as pytester's project."""

    def copy(name: str) -> Path:
        shutil.copytree(SAMPLES / name, pytester.path, dirs_exist_ok=True)
        return pytester.path

    return copy


def test_migrations_numbered_as_drizzle_kit_does_pass_with_a_warning(pytester, sample):
    sample("numbered")
    result = run_suite(pytester, "test_static", "-k", "file_names or rollback or row_level")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        ["phase3test: WARNING supabase/config.toml sets no ?db? major_version: *PostgreSQL 17*"]
    )
    result.stdout.fnmatch_lines_random(
        [
            "*0000_lists.sql: version 0000 is not a 14-digit UTC timestamp (YYYYMMDDHHMMSS);"
            " the Supabase CLI accepts it and orders files by name*",
            "*0001_items.sql: version 0001 is not a 14-digit UTC timestamp*",
        ]
    )


@needs_pgtap
def test_pgtap_files_that_switch_roles_pass_after_public_loses_execute(pytester, sample):
    sample("pgtap_roles")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "supabase/tests", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1)


@needs_pgtap
def test_a_pgtap_file_that_dies_names_the_statement_and_the_last_assertion(pytester, sample):
    project = sample("pgtap_roles")
    (project / "supabase/tests/dies.test.sql").write_text(
        "begin;\nselect plan(2);\nselect ok(true, 'the truth holds');\n"
        "select ok(count(*) = 0, 'no lists') from public.lists;\nrollback;\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "supabase/tests", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            '*dies.test.sql:4:1: ERROR 42P01: relation "public.lists" does not exist'
            " (after assertion 1 - the truth holds)",
            "*select ok(count(*) = 0, 'no lists') from public.lists",
        ]
    )
    assert "During handling of the above exception" not in result.stdout.str()


def test_a_chat_app_written_as_projects_are_today_gets_only_true_findings(sample, run_check, monkeypatch):
    """Explicit grants, an auth trigger function, supabase_realtime, Broadcast policies by topic, seed.sql, a
    config.toml bucket, pg_net and Vault (their doubles), pgTAP files acting as users, one with a shipped
    test-helper extension: all pass, Supabase's advisors included; the one definer view is the one finding."""
    project = sample("chat")
    cli = find_cli(Path(__file__).resolve().parents[2])
    if cli is not None:
        monkeypatch.setenv("PHASE3TEST_SUPABASE_CLI", str(cli))
    result = run_check(project)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed" in output, output
    assert "public.room_sizes: a view readable by authenticated that runs with its owner's rights" in output, output
    if cli is not None:
        assert "ok    test_advisors.py: 1 passed" in output, output
    if _pgtap_installed():
        for pgtap_file in ("broadcast", "rooms"):  # rooms: the shipped test-helper extension, pg_net and Vault
            assert f"ok    supabase/tests/{pgtap_file}.test.sql: 1 passed" in output, output


def test_a_seed_file_that_fails_names_its_file_line_and_statement(pytester, sample):
    project = sample("chat")
    seed = project / "supabase/seed.sql"
    rows = seed.read_text()
    seed.write_text(rows + "\ninsert into public.rooms (id, name) values (null, 'nowhere');\n")
    line = len(rows.splitlines()) + 2
    result = run_suite(pytester, "test_access", "-k", "profiles and select and member")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*seeding the template failed:",
            f'*seed file {seed}:{line}:1: ERROR 23502: null value in column "id" of relation "rooms"*',
            "*insert into public.rooms (id, name) values (null, 'nowhere')",
        ]
    )


def test_extensions_the_server_lacks_stop_the_gate_once_naming_all_of_them(sample, run_check):
    project = sample("needs_extensions")
    result = run_check(project)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "lacks 2 extension(s) the project creates" in output, output
    assert "pg_cron (created in 20250501000000_depots.sql:4; Debian: apt-get install postgresql-15-cron)" in output
    assert "postgis (created in 20250501000000_depots.sql:3; Debian: apt-get install postgresql-15-postgis-3)" in output
    assert "--pg-backend docker" in output
    assert output.count("lacks 2 extension(s)") == 1, output
    assert "passed" not in output and "failed" not in output, output


@needs_pgtap
def test_a_test_helper_extension_the_project_ships_as_files_installs_on_the_embedded_server(pytester, sample):
    sample("test_helpers")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "supabase/tests", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "phase3test: installable from test-extensions/ (a private copy of the server's tree):"
            " acme-supabase_test_helpers"
        ]
    )
    assert not list(Path("/usr/share/postgresql").rglob("acme-supabase_test_helpers*"))


def test_migrations_calling_pg_net_and_vault_run_on_their_test_doubles(pytester, sample):
    sample("webhooks")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["phase3test: test doubles (the server lacks the real ones): pg_net, supabase_vault*"])
