"""The fixtures as a user's test suite sees them, run in a real pytest subprocess."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

pytestmark = pytest.mark.slow

USER_TESTS = """
import time

import psycopg
import pytest


def test_1_db_sees_the_migrated_schema(db):
    versions = db.execute("select version from supabase_migrations.schema_migrations order by 1").fetchall()
    assert versions == [("20240101000000",), ("20240102000000",)]
    db.execute("create table public.scratch (x int)")


def test_2_db_rolled_back_the_previous_test(db):
    assert db.execute("select to_regclass('public.scratch')").fetchone() == (None,)


def test_3_db_forbids_commit(db):
    with pytest.raises(psycopg.ProgrammingError):
        db.commit()


def test_4_db_survives_a_failed_statement(db):
    with pytest.raises(psycopg.errors.UndefinedTable):
        db.execute("select * from public.nowhere")


def test_5_db_is_usable_after_a_failed_statement(db):
    assert db.execute("select 1").fetchone() == (1,)


def test_6_fresh_db_commits_for_itself(fresh_db):
    assert fresh_db.autocommit
    fresh_db.execute("create table public.kept (x int)")
    assert fresh_db.execute("select to_regclass('public.kept')").fetchone() != (None,)


def test_7_fresh_db_is_new_each_time_and_the_old_one_is_gone(fresh_db, pg_server):
    assert fresh_db.execute("select to_regclass('public.kept')").fetchone() == (None,)
    deadline = time.monotonic() + 10  # the run's owner drops it (the pool's keeper) a moment after the test
    with psycopg.connect(pg_server.dsn) as admin:
        while True:
            names = [r[0] for r in admin.execute("select datname from pg_database where datname like 'p3t_fresh%'")]
            if names == [fresh_db.info.dbname] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert names == [fresh_db.info.dbname]


def test_8_fresh_db_keeps_supabase_search_path(fresh_db):
    assert fresh_db.execute("show search_path").fetchone() == ('"$user", public, extensions',)


def test_9_empty_db_is_bootstrapped_but_unmigrated(empty_db):
    assert empty_db.execute("select to_regclass('auth.users') is not null").fetchone() == (True,)
    assert empty_db.execute("select to_regclass('public.notes')").fetchone() == (None,)


def test_10_server_facts(pg_server):
    assert pg_server.major == 15 and pg_server.backend == "embedded"
    assert pg_server.dsn.startswith("postgresql://postgres@127.0.0.1:")
"""


@pytest.fixture
def user_project(pytester: pytest.Pytester, sample_project: Path, isolated_home: Path, monkeypatch) -> Path:
    """A copy of the sample project inside pytester's folder, using a private PHASE3TEST_HOME."""
    shutil.copytree(sample_project / "supabase", pytester.path / "supabase")
    pytester.makeini("[pytest]\nphase3test_supabase_dir = supabase\n")
    monkeypatch.setenv("PHASE3TEST_HOME", str(isolated_home))
    return pytester.path


@pytest.mark.parametrize("pool", ["2", "0"], ids=["pooled", "unpooled"])
def test_fixtures_behave_as_documented(
    pytester: pytest.Pytester, user_project: Path, leftovers, isolated_home, pool: str
):
    """The same, whether databases come from the pool of clones or each test clones its own."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "-v", f"--pg-pool={pool}", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines(["*server ready in *2 migration(s), PostgreSQL 15*"])
    if pool == "0":
        result.stdout.no_fnmatch_line("*pool of clones*")
    else:
        result.stdout.fnmatch_lines(["pool of clones: [1-9]* of * clones ready when asked, * made ahead, * reused"])
    assert leftovers(isolated_home) == []


def test_same_suite_under_xdist(pytester: pytest.Pytester, user_project: Path, leftovers, isolated_home):
    pytester.makepyfile(
        test_user="""
def test_a(db, fresh_db, empty_db):
    assert len({db.info.dbname, fresh_db.info.dbname, empty_db.info.dbname}) == 3


def test_b(db, fresh_db, empty_db):
    assert len({db.info.dbname, fresh_db.info.dbname, empty_db.info.dbname}) == 3
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=2)
    assert leftovers(isolated_home) == []


def test_broken_migration_fails_every_test_that_needs_it(
    pytester: pytest.Pytester, user_project: Path, leftovers, isolated_home
):
    (user_project / "supabase" / "migrations" / "20240103000000_broken.sql").write_text(
        "alter table public.notes\n  add column rating int check (rating between 1 and 5);\nselect 1/0;\n"
    )
    pytester.makepyfile(
        test_user="""
def test_needs_migrations(db):
    pass


def test_needs_only_bootstrap(empty_db):
    assert empty_db.execute("select 1").fetchone() == (1,)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*migrations failed:*",
            "*20240103000000_broken.sql:3:1: ERROR 22012: division by zero*",
            "*select 1/0*",
            "*rolled back; migrations before it stay applied*",
            "server ready in *(*a migration FAILED), 3 migration(s)*",
        ]
    )
    assert result.ret == 1
    assert leftovers(isolated_home) == []


def test_verbose_header_reports_each_resolution_step(pytester: pytest.Pytester, user_project: Path):
    pytester.makepyfile(test_user="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", timeout=SUBPROCESS_TIMEOUT)
    result.stdout.fnmatch_lines(
        [
            "phase3test: PostgreSQL 15.* (system, *), project *supabase",
            "phase3test:   explicit bindir: not set",
            "phase3test:   system PostgreSQL 15.* matches wanted major 15",
        ]
    )
    assert "server ready" not in result.stdout.str(), "a run that needs no database starts no server"


def test_bad_bindir_is_a_usage_error_naming_the_option(pytester: pytest.Pytester, user_project: Path):
    pytester.makepyfile(test_user="def test_db(db):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pg-bindir", "/nonexistent/bin", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bindir from command line (--pg-bindir) points at /nonexistent/bin*"])


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_a_home_the_servers_user_cannot_enter_stops_the_run_once_naming_the_folder(
    pytester: pytest.Pytester, user_project: Path, tmp_path: Path, monkeypatch
):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    monkeypatch.setenv("PHASE3TEST_HOME", str(closed / "home"))
    pytester.makepyfile(test_user="def test_one(db):\n    pass\n\n\ndef test_two(db):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=SUBPROCESS_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = result.stderr.str()
    assert message.count("who cannot enter") == 1, message
    assert "ERROR: the server runs as 'nobody', who cannot enter " in message, message
    assert f"on the way to the run's folders in {closed / 'home'}" in message, message
    assert "chmod o+rx" in message and "--pg-home" in message, message


NOTES_SEEDERS = """
import uuid

from phase3test.seeding import Batch, Seeder

WRITER = uuid.UUID("00000000-0000-4000-8000-00000000beef")


class NotesSeeder(Seeder):
    name = "notes"
    tables = ("auth.users", "public.notes")

    def generate(self, ctx):
        owner = WRITER if OWNER_EXISTS else ctx.uuid()
        writer = [(WRITER, "w@example.test", "authenticated", "authenticated")]
        yield Batch("auth.users", ("id", "email", "aud", "role"), writer)
        notes = [(owner, f"note {i}", ctx.now) for i in range(3)]
        yield Batch("public.notes", ("owner_id", "body", "created_at"), notes)


SEEDERS = [NotesSeeder()]
"""

SEEDED_TESTS = """
import pytest


def test_db_starts_seeded(db):
    assert db.execute("select count(*) from public.notes").fetchone() == (3,)


@pytest.mark.unseeded
def test_unseeded_db(db):
    assert db.execute("select count(*) from public.notes").fetchone() == (0,)
"""


def test_a_project_seeds_the_template_with_its_own_seeders(pytester: pytest.Pytester, user_project: Path):
    pytester.makepyfile(notes_seeders=NOTES_SEEDERS.replace("OWNER_EXISTS", "True"), test_user=SEEDED_TESTS)
    pytester.makeini("[pytest]\nphase3test_supabase_dir = supabase\nphase3test_seeders = notes_seeders\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*template seeded by notes_seeders (seed 0, scale 1)*"])


def test_a_failing_seeder_fails_the_tests_that_need_seed_data_and_names_it(
    pytester: pytest.Pytester, user_project: Path
):
    pytester.makepyfile(notes_seeders=NOTES_SEEDERS.replace("OWNER_EXISTS", "False"), test_user=SEEDED_TESTS)
    pytester.makeini("[pytest]\nphase3test_supabase_dir = supabase\nphase3test_seeders = notes_seeders\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*seeding the template failed:*", "*seeder 'notes' failed, nothing was kept*foreign key*(notes)*"]
    )


SKIPPING_TESTS = """
import pytest


def test_without_a_stack():
    pytest.skip("no stack here")


def test_without_a_tool():
    pytest.skip("the tool is not installed")


@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert False


def test_gone():
    pass
"""


def test_a_skip_the_expected_skips_do_not_list_fails_and_a_listed_one_stays_a_skip(
    pytester: pytest.Pytester, user_project: Path
):
    pytester.makepyfile(test_user=SKIPPING_TESTS)
    (pytester.path / "skips.yaml").write_text(
        '- test: "test_user.py::test_without_a_stack"\n  reason: "no stack"\n  why: "CI has none"\n'
        '- test: "test_user.py::test_gone"\n  reason: "anything"\n  why: "it used to skip"\n'
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--pg-expected-skips=skips.yaml", "-rs", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(skipped=1, failed=1, xfailed=1, passed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*unexpected skip: the tool is not installed",
            "*skips.yaml lists the skips this project expects*",
            "phase3test: expected skip did not happen: test_user.py::test_gone (anything)",
        ]
    )
    without = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=SUBPROCESS_TIMEOUT)
    without.assert_outcomes(skipped=2, xfailed=1, passed=1)
