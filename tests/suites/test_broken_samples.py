"""Each suite, fed a deliberately broken migration, fails and says where and what.

Every case is the sample project (tests/sample_project) plus one bad file,
run through `pytest --pyargs phase3test.suites...` in a real subprocess with
seed data, exactly as a user's CI would run it. The unbroken project passes
every suite, under -n 2 too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

from phase3test.migrations.static import find_squawk
from phase3test.supabase.cli import find_cli

pytestmark = pytest.mark.slow


def run_suite(pytester: pytest.Pytester, suites: str, *args: str) -> pytest.RunResult:
    """Run one suite, or several separated by commas (`test_access,test_security`), in a pytest subprocess."""
    modules = [f"phase3test.suites.{suite}" for suite in suites.split(",")]
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "-rs", *args, "--pyargs", *modules, timeout=SUBPROCESS_TIMEOUT
    )


def test_the_unbroken_sample_project_passes_every_suite_in_parallel(pytester, broken_project, monkeypatch):
    broken_project({})
    cli = find_cli(Path(__file__).resolve().parents[2])
    if cli is not None:  # the sample has no node_modules: the advisors run on this repository's CLI
        monkeypatch.setenv("PHASE3TEST_SUPABASE_CLI", str(cli))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--pyargs", "phase3test.suites", timeout=SUBPROCESS_TIMEOUT
    )
    # Skipped: no base ref (1); no materialized views (5); no refresh entry point declared (3); no API stack (1);
    # the advisors too where no CLI is.
    # Passed with the rest: the chain builds (test_migrations: the migrations apply, the seed data loads); the lock
    # profile of each file and the (absent) accepted list; the RLS cost of notes and note_tags.
    with_cli = int(cli is not None)
    result.assert_outcomes(passed=59 + with_cli, skipped=11 - with_cli)


def test_idempotency_fails_on_create_table_without_if_not_exists(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_attachments.sql": "-- Attachments.\n"
            "create table public.attachments (id bigint primary key, note_id bigint references public.notes);\n"
            "alter table public.attachments enable row level security;\n",
            "rollbacks/20240103000000_attachments.down.sql": "drop table if exists public.attachments;\n",
        },
    )
    result = run_suite(pytester, "test_idempotency")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ['*20240103000000_attachments.sql:2:1: ERROR 42P07: relation "attachments" already exists*']
    )


def test_idempotency_fails_on_a_backfill_that_overwrites_values_on_a_re_run(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_note_status.sql": "-- Note status.\n"
            "alter table public.notes add column if not exists status text not null default 'draft';\n"
            "update public.notes set status = 'draft';\n",
            "rollbacks/20240103000000_note_status.down.sql": "alter table public.notes drop column if exists status;\n",
        },
        extra='{"status": "published"}',
    )
    result = run_suite(pytester, "test_idempotency")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*20240103000000_note_status.sql applied a second time: the data changed (1 table(s)):",
            "*public.notes: 4 row(s) gone or changed, 4 new or changed (4 -> 4 rows)",
            "*was: (*published)",
            "*now: (*draft)",
        ]
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "create index if not exists notes_created_at_idx on public.notes (created_at);\n",
            "*+ index public.notes_created_at_idx: CREATE INDEX notes_created_at_idx ON public.notes*",
        ),
        (
            "create policy notes_read_recent on public.notes for select to authenticated\n"
            "  using (created_at > now() - interval '1 day');\n",
            "*+ policy notes_read_recent on public.notes*",
        ),
    ],
    ids=["index", "policy"],
)
def test_rollbacks_fail_when_the_rollback_forgets_an_object(pytester, broken_project, statement, expected):
    broken_project(
        {
            "migrations/20240103000000_more.sql": f"-- More.\n{statement}",
            "rollbacks/20240103000000_more.down.sql": "-- Rollback (forgets it all).\nselect 1;\n",
        },
    )
    result = run_suite(pytester, "test_rollbacks", "-k", "restores or whole_chain")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        ["*after rolling back 20240103000000_more.sql: the schema changed (1 difference(s)):", expected]
    )


def test_rollbacks_fail_when_a_rollback_deletes_another_tables_rows(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_archive.sql": "-- Archive.\n"
            "create table if not exists public.archive (id bigint primary key);\n"
            "alter table public.archive enable row level security;\n",
            "rollbacks/20240103000000_archive.down.sql": "drop table if exists public.archive;\n"
            "delete from public.note_tags where tag = 'old';\n",
        },
    )
    result = run_suite(pytester, "test_rollbacks", "-k", "keeps_the_rows")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*rolling back 20240103000000_archive.sql (tables whose columns it leaves alone): the data changed*",
            "*public.note_tags: 4 row(s) gone or changed, 0 new or changed (8 -> 4 rows)",
        ]
    )


def test_reruns_fail_when_a_migration_loses_rows_that_predate_it(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_tidy.sql": "-- Tidy.\ndelete from public.note_tags where tag = 'old';\n",
            "rollbacks/20240103000000_tidy.down.sql": "-- Rollback: nothing to undo.\nselect 1;\n",
        },
    )
    result = run_suite(pytester, "test_reruns", "-k", "keeps_its_rows")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*migrating to the head from before 20240103000000_tidy.sql: pre-existing rows were lost*",
            "*public.note_tags: 4 of 8 pre-existing row(s) gone or changed",
            "*was: (1,old)",
        ]
    )


def test_reruns_fail_when_a_new_column_is_not_backfilled(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_titles.sql": "-- Titles.\n"
            "alter table public.notes add column if not exists title text;\n",
            "rollbacks/20240103000000_titles.down.sql": "alter table public.notes drop column if exists title;\n",
        },
        extra='{"title": "A title"}',
    )
    result = run_suite(pytester, "test_reruns", "-k", "keeps_its_rows")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*migrating to the head from before 20240103000000_titles.sql: columns the seed data fills on every row"
            " were not backfilled:",
            "*public.notes.title: NULL on 4 of the 4 row(s) that predate it",
        ]
    )


def test_static_checks_fail_on_names_missing_rollbacks_and_tables_without_rls(pytester, broken_project):
    broken_project(
        {
            "migrations/add_attachments.sql": "select 1;\n",
            "migrations/20240103000000_open.sql": "-- Open.\n"
            "create table if not exists public.open_notes (id bigint primary key);\n",
        },
    )
    result = run_suite(pytester, "test_static", "-k", "not squawk")
    result.assert_outcomes(passed=4, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*add_attachments.sql: the Supabase CLI skips it (file names must match <digits>_name.sql)*",
            "*20240103000000_open.sql has no rollback: add *rollbacks/20240103000000_open.down.sql*",
            "*20240103000000_open.sql creates public.open_notes in an exposed schema (public, graphql_public)"
            " without enabling row level security*",
        ]
    )


def test_squawk_fails_on_a_lock_heavy_statement_and_says_which_rule(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_slow.sql": "-- Slow.\nset local lock_timeout = '5s';\n"
            "create index if not exists notes_body_idx on public.notes (body);\n",
            "rollbacks/20240103000000_slow.down.sql": "drop index if exists public.notes_body_idx;\n",
        },
    )
    if find_squawk() is None:
        pytest.skip("squawk is not installed (a dev dependency)")
    result = run_suite(pytester, "test_static", "-k", "squawk")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*squawk flags 20240103000000_slow.sql:", "*20240103000000_slow.sql:*require-concurrent-index-creation*"]
    )


def test_reruns_fail_when_a_pull_request_edits_an_applied_migration_or_slips_one_in_before(pytester, broken_project):
    broken_project({})
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.test"]
    subprocess.run([*git, "init", "-q"], cwd=pytester.path, check=True, timeout=SUBPROCESS_TIMEOUT)
    subprocess.run([*git, "add", "supabase"], cwd=pytester.path, check=True, timeout=SUBPROCESS_TIMEOUT)
    subprocess.run([*git, "commit", "-qm", "main"], cwd=pytester.path, check=True, timeout=SUBPROCESS_TIMEOUT)
    notes = pytester.path / "supabase/migrations/20240101000000_notes.sql"
    notes.write_text(notes.read_text() + "create index if not exists notes_body_idx on public.notes (body);\n")
    (pytester.path / "supabase/migrations/20231231000000_early.sql").write_text("select 1;\n")
    result = run_suite(pytester, "test_reruns", "-k", "base_ref", "--pg-base-ref", "HEAD")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*compared with HEAD, whose migrations production runs: migration history does not match the files:",
            "*20240101000000_notes.sql was edited after it was applied (applied sha256 *, file now *)*",
            "*20231231000000_early.sql would be inserted before the last applied migration 20240102000000*",
        ]
    )


ACCESS_CASES = {
    "a using (true) policy": (
        "create policy notes_read_all on public.notes for select to authenticated using (true);\n",
        ["*writer select on public.notes: expected own: sees 4 of 4 rows (2 own, 2 of others)"],
    ),
    "RLS disabled": (
        "alter table public.note_tags disable row level security;\n",
        [
            "*row level security is off on: public.note_tags",
            "*writer select on public.note_tags: expected own: sees 8 of 8 rows (4 own, 4 of others)",
        ],
    ),
    "a policy for anon": (
        "grant select on public.notes to anon;\n"
        "create policy notes_anon_read on public.notes for select to anon using (true);\n",
        ["*anon select on public.notes: expected deny: sees 4 of 4 rows"],
    ),
    "an always-true write policy": (
        "create policy notes_anyone_updates on public.notes for update to authenticated using (true);\n",
        # Only the policy check sees it: UPDATE reaches only rows the SELECT policies show.
        [
            "*public.notes: policy notes_anyone_updates (USING true) lets writer update every row,"
            " but the matrix says own"
        ],
    ),
    "a definer function without search_path": (
        "create or replace function public.note_count() returns bigint language sql security definer\n"
        "  as $$ select count(*) from public.notes $$;\n",
        [
            "*SECURITY DEFINER without a fixed search_path (add `set search_path = ''`): public.note_count()",
            "*anon can execute these SECURITY DEFINER functions, which the matrix does not declare in"
            " `anon_may_execute`*public.note_count()",
            "*public.note_count(): a function the API serves (RPC) with no access decisions",
        ],
    ),
    "a materialized view granted to anon": (
        "create materialized view if not exists public.note_counts as\n"
        "  select owner_id, count(*) as notes from public.notes group by owner_id;\n"
        "grant select on public.note_counts to anon;\n",
        ["*public.note_counts: materialized view (no RLS) readable by anon"],
    ),
    "a policy trusting user_metadata": (
        "create policy notes_vip_read on public.notes for select to authenticated\n"
        "  using ((auth.jwt() -> 'user_metadata' ->> 'vip') = 'true');\n",
        ["*policies reading user_metadata, which every user can edit about themselves*notes_vip_read on public.notes"],
    ),
    "a view over auth.users readable through the API": (
        "create or replace view public.writers as select id, email from auth.users;\n"
        "grant select on public.writers to authenticated;\n",
        ["*public.writers: view over auth.users readable by authenticated"],
    ),
    "a table its migration forgot to grant": (
        "revoke all on public.note_tags from authenticated;\n",
        [
            "*writer select on public.note_tags: expected own, but reading is refused (no privilege); authenticated"
            " holds no SELECT privilege on public.note_tags, so no policy can let it through*"
            "`grant select on public.note_tags to authenticated`*",
            "*public.note_tags: policy note_tags_follow_note never applies: authenticated holds no SELECT or INSERT"
            " or UPDATE or DELETE privilege on it*",
        ],
    ),
    "a Broadcast policy open to every channel": (
        "create policy everyone_receives on realtime.messages for select to authenticated using (true);\n",
        ["*realtime.messages: policy everyone_receives (select: true) lets its roles receive every private channel*"],
    ),
    "a view that runs with its owner's rights": (
        "create or replace view public.note_lengths as select id, length(body) as length from public.notes;\n"
        "grant select on public.note_lengths to authenticated;\n",
        [
            "*public.note_lengths: a view readable by authenticated that runs with its owner's rights, past the RLS"
            " of the tables it reads*"
        ],
    ),
    "a table missing from the matrix": (
        "create table if not exists public.drafts (id bigint primary key);\n"
        "alter table public.drafts enable row level security;\n",
        ["*public.drafts: a table in an exposed schema with no access decisions"],
    ),
}


@pytest.mark.parametrize("case", list(ACCESS_CASES))
def test_access_and_security_suites_fail_on_broken_policies(pytester, broken_project, case):
    fails_on(pytester, broken_project, ACCESS_CASES[case], "test_access,test_security")


def test_the_access_report_shows_each_cell_declared_and_found(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_broken.sql": "-- Broken.\n"
            "grant select on public.notes to anon;\n"
            "create policy notes_anon_read on public.notes for select to anon using (true);\n",
            "rollbacks/20240103000000_broken.down.sql": "-- irreversible: a broken sample\n",
        },
    )
    result = run_suite(pytester, "test_access", "--pg-access-report", "reports/access.md")
    result.assert_outcomes(passed=24, failed=1)  # 24 cells and the coverage test
    report = (pytester.path / "reports/access.md").read_text()
    assert "24 cells, 1 not as declared." in report
    assert "| table | anon | writer | service_role |" in report
    assert "| `public.notes` | `X---` | `OOOO` | `AAAA` |" in report
    assert "- anon select on public.notes: expected deny: sees 4 of 4 rows" in report


NOTE_COUNTS = (
    "create materialized view if not exists public.note_counts as\n"
    "  select owner_id, count(*) as notes from public.notes group by owner_id;\n"
    "revoke all on public.note_counts from anon, authenticated;\n"
)
MATVIEW_CASES = {
    "no unique index": (
        NOTE_COUNTS,
        [
            "*REFRESH ... CONCURRENTLY needs a unique index on plain columns, without a WHERE clause, on:"
            " public.note_counts"
        ],
    ),
    "a refresh function in the wrong order": (
        NOTE_COUNTS + "create unique index if not exists note_counts_owner_id_key on public.note_counts (owner_id);\n"
        "create materialized view if not exists public.note_totals as select sum(notes) as notes, 1 as k\n"
        "  from public.note_counts;\n"
        "create unique index if not exists note_totals_k_key on public.note_totals (k);\n"
        "revoke all on public.note_totals from anon, authenticated;\n"
        "create or replace function public.refresh_notes() returns void language plpgsql as $$\n"
        "begin\n"
        "  refresh materialized view concurrently public.note_totals;\n"
        "  refresh materialized view concurrently public.note_counts;\n"
        "end $$;\n"
        "revoke all on function public.refresh_notes() from public, anon, authenticated, service_role;\n",
        ["*public.refresh_notes() refreshes public.note_totals before public.note_counts, which it reads"],
    ),
    "two refreshes that queue instead of skipping": (
        NOTE_COUNTS + "create unique index if not exists note_counts_owner_id_key on public.note_counts (owner_id);\n"
        "create or replace function public.refresh_notes() returns void language plpgsql as $$\n"
        "begin\n"
        "  refresh materialized view concurrently public.note_counts;\n"
        "end $$;\n"
        "revoke all on function public.refresh_notes() from public, anon, authenticated, service_role;\n",
        ["*public.refresh_notes(): a second call*"],
    ),
    "a refresh function that blocks readers": (
        NOTE_COUNTS + "create unique index if not exists note_counts_owner_id_key on public.note_counts (owner_id);\n"
        "create or replace function public.refresh_notes() returns void language plpgsql as $$\n"
        "begin\n"
        "  refresh materialized view public.note_counts;\n"
        "end $$;\n"
        "revoke all on function public.refresh_notes() from public, anon, authenticated, service_role;\n",
        [
            "*the project's refresh blocked readers:",
            "*public.note_counts: readers waited on a lock in * of * samples during `select public.refresh_notes()`",
        ],
    ),
    "a view that drifts from its query": (
        "create materialized view if not exists public.note_ages as\n"
        "  select id, clock_timestamp() - created_at as age from public.notes;\n"
        "create unique index if not exists note_ages_id_key on public.note_ages (id);\n"
        "revoke all on public.note_ages from anon, authenticated;\n",
        ["*public.note_ages: lacks * row(s) its definition gives, has * it does not"],
    ),
}


@pytest.mark.parametrize("case", list(MATVIEW_CASES))
def test_the_materialized_view_suite_fails_on_broken_views(pytester, broken_project, case):
    fails_on(pytester, broken_project, MATVIEW_CASES[case], "test_matviews")


def fails_on(pytester: pytest.Pytester, broken_project, case: tuple[str, list[str]], suites: str, *args: str) -> None:
    """The sample project plus one broken migration makes the suites (run with `args`) fail, printing every
    expected line."""
    statement, expected = case
    broken_project(
        {
            "migrations/20240103000000_broken.sql": f"-- Broken.\n{statement}",
            "rollbacks/20240103000000_broken.down.sql": "-- irreversible: a broken sample\n",
        },
    )
    result = run_suite(pytester, suites, *args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines_random(expected)


def test_a_deny_is_checked_on_the_acting_users_own_rows_too(pytester, broken_project):
    """The matrix says writers may not update notes, but the policy lets them update their own. The first
    writer the matrix lists owns no note, so only a probe that picks an owning user sees it."""
    project = broken_project(
        {
            "migrations/20240103000000_reader.sql": "-- A writer who has written nothing yet.\n"
            "insert into auth.users (id, email, aud, role) values ('00000000-0000-4000-8000-00000000aaaa',"
            " 'aaa-first@example.test', 'authenticated', 'authenticated') on conflict (id) do nothing;\n",
            "rollbacks/20240103000000_reader.down.sql": "-- irreversible: a broken sample\n",
        }
    )
    edit_matrix(project, "update: {writer: own, service_role: allow}", "update: {service_role: allow}")
    result = run_suite(pytester, "test_access", "-k", "notes-writer-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*writer update on public.notes: expected deny, but the update reached 2 of 4 rows"])


def edit_matrix(project, old: str, new: str, count: int = 1) -> None:
    """Replace `old` in the project's access matrix by `new` (the first `count` times; it must be there)."""
    matrix = project / "fixtures/rls_matrix.yaml"
    text = matrix.read_text()
    assert old in text, old
    matrix.write_text(text.replace(old, new, count))


OWN_WRITE_CASES = {
    "cannot write their own row": (
        "drop policy if exists notes_update_own on public.notes;\n",
        ["*writer update on public.notes: on the user's own row: expected it to be allowed, but 0 row(s) affected"],
        "notes-writer-update",
    ),
    "can write someone else's row": (
        "create policy notes_insert_any on public.notes for insert to authenticated with check (true);\n",
        ["*writer insert on public.notes: on someone else's row: expected it to be denied, but 1 row(s) affected"],
        "notes-writer-insert",
    ),
}


@pytest.mark.parametrize("case", list(OWN_WRITE_CASES))
def test_an_own_write_cell_fails_when_the_user(pytester, broken_project, case):
    statement, expected, cell = OWN_WRITE_CASES[case]
    fails_on(pytester, broken_project, (statement, expected), "test_access", "-k", cell)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "  public.gone:\n    select: {}\n    insert: {}\n    update: {}\n    delete: {}\n",
            "*public.gone: has access decisions but no such table exists*",
        ),
        (
            "functions:\n  public.gone(): {execute: {service_role: allow}}\n",
            "*public.gone(): has access decisions but the API serves no such function*",
        ),
    ],
    ids=["table", "function"],
)
def test_the_coverage_check_fails_on_a_decision_for_something_that_no_longer_exists(
    pytester, broken_project, entry, expected
):
    project = broken_project({})
    matrix = project / "fixtures/rls_matrix.yaml"
    matrix.write_text(matrix.read_text() + entry)
    result = run_suite(pytester, "test_access", "-k", "every_table")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([expected])


def test_the_security_suite_fails_on_an_anon_may_execute_entry_naming_no_function(pytester, broken_project):
    project = broken_project({})
    matrix = project / "fixtures/rls_matrix.yaml"
    matrix.write_text(matrix.read_text() + "anon_may_execute: [public.nope()]\n")
    result = run_suite(pytester, "test_security", "-k", "anon")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*`anon_may_execute` names functions that do not exist: public.nope()"])


def test_trigger_functions_anon_can_execute_are_no_api_functions(pytester, broken_project):
    """The usual auth trigger runs as its owner and PUBLIC may execute it, but no API can call a function
    returning `trigger` or `event_trigger`: neither the matrix's coverage nor the definer check asks about it."""
    broken_project(
        {
            "migrations/20240103000000_auth_trigger.sql": "-- Every new user starts on the free plan.\n"
            "create or replace function public.handle_new_user() returns trigger\n"
            "  language plpgsql security definer set search_path = '' as $$\n"
            "begin new.raw_app_meta_data := coalesce(new.raw_app_meta_data, '{}') || '{\"plan\": \"free\"}';\n"
            "  return new; end $$;\n"
            "drop trigger if exists on_auth_user_created on auth.users;\n"
            "create trigger on_auth_user_created before insert on auth.users\n"
            "  for each row execute function public.handle_new_user();\n"
            "create or replace function public.note_ddl() returns event_trigger\n"
            "  language plpgsql security definer set search_path = '' as $$ begin end $$;\n",
            "rollbacks/20240103000000_auth_trigger.down.sql": "drop trigger if exists on_auth_user_created"
            " on auth.users;\ndrop function if exists public.handle_new_user();\n"
            "drop function if exists public.note_ddl();\n",
        }
    )
    result = run_suite(pytester, "test_access,test_security", "-k", "every_table or definer")
    result.assert_outcomes(passed=3)


PRIORITY = (
    "-- Priority.\nalter table public.notes add column if not exists priority int not null default 1"
    " check (priority between 1 and 5);\n"
)


def test_a_rollback_failing_on_seed_data_fails_the_data_checks_instead_of_skipping_them(pytester, broken_project):
    """It declares a refusal, but fails with another error (a check constraint its update violates): that is a
    defect, not the declared refusal, so nothing turns into a skip."""
    broken_project(
        {
            "migrations/20240103000000_priority.sql": PRIORITY,
            "rollbacks/20240103000000_priority.down.sql": "-- refuses: object_in_use while notes are locked\n"
            "update public.notes set priority = 0;\n"
            "alter table public.notes drop column if exists priority;\n",
        },
    )
    result = run_suite(pytester, "test_idempotency,test_rollbacks,test_reruns", "-k", "not base_ref")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) == 0 and outcomes["failed"] == 8, outcomes  # 2 + 3 + 3 need the way down
    result.stdout.fnmatch_lines(
        ['*20240103000000_priority.down.sql:2:1: ERROR 23514: new row for relation "notes" violates check*']
    )


def test_a_declared_refusal_that_its_clearing_statement_does_not_clear_fails(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_priority.sql": PRIORITY,
            "rollbacks/20240103000000_priority.down.sql": "-- refuses: object_in_use while notes exist\n"
            "-- cleared by: delete from public.note_tags\n"
            "do $$ begin if exists (select from public.notes) then\n"
            "  raise exception 'notes exist' using errcode = 'object_in_use'; end if; end $$;\n"
            "alter table public.notes drop column if exists priority;\n",
        },
    )
    result = run_suite(pytester, "test_rollbacks", "-k", "keeps_the_rows")
    result.assert_outcomes(failed=3)  # every file's test rolls the head back through it
    result.stdout.fnmatch_lines(["*20240103000000_priority.down.sql:3:1: ERROR 55006: notes exist*"])


def test_the_declared_refusal_closes_the_way_down_and_the_report_says_what_ran_unseeded(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_priority.sql": PRIORITY,
            "rollbacks/20240103000000_priority.down.sql": "-- refuses: object_in_use while notes exist\n"
            "do $$ begin if exists (select from public.notes) then\n"
            "  raise exception 'notes exist' using errcode = 'object_in_use'; end if; end $$;\n"
            "alter table public.notes drop column if exists priority;\n",
        },
    )
    result = run_suite(pytester, "test_idempotency,test_rollbacks", "--pg-report-dir", "reports")
    result.assert_outcomes(passed=7, skipped=3)  # the rows kept by each rollback need the way down
    report = json.loads((pytester.path / "reports" / "report.json").read_text())
    unseeded = sorted(c["test"].split("[")[1].rstrip("]") for c in report["conditions"])
    assert unseeded == ["20240101000000_notes", "20240102000000_note_tags"]
    assert all("the rollback of 20240103000000_priority.sql refuses" in c["note"] for c in report["conditions"])
    assert "## Checks that ran under other conditions (2)" in (pytester.path / "reports" / "report.md").read_text()
    assert len(report["skips"]) == 3 and all("refuses" in skip["reason"] for skip in report["skips"])


def test_a_refusal_that_names_no_error_is_a_static_failure(pytester, broken_project):
    broken_project(
        {
            "migrations/20240103000000_priority.sql": PRIORITY,
            "rollbacks/20240103000000_priority.down.sql": "-- refuses: while notes exist\n"
            "alter table public.notes drop column if exists priority;\n",
        },
    )
    result = run_suite(pytester, "test_static", "-k", "rollback")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*20240103000000_priority.down.sql declares `-- refuses: while notes exist` without the error it refuses*"]
    )


def test_idempotency_fails_on_an_index_without_a_name(pytester, broken_project):
    """`create index on ...` names the index itself: a second run adds a second, identical index."""
    broken_project(
        {
            "migrations/20240103000000_recent.sql": "-- Recent notes.\ncreate index on public.notes (created_at);\n",
            "rollbacks/20240103000000_recent.down.sql": "drop index if exists public.notes_created_at_idx;\n",
        },
    )
    result = run_suite(pytester, "test_idempotency")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*20240103000000_recent.sql applied a second time: the schema changed (1 difference(s)):",
            "*+ index public.notes_created_at_idx1: *",
        ]
    )


def test_rollbacks_fail_when_re_applying_a_rolled_back_migration_builds_something_else(pytester, broken_project):
    """The migration decides what to build from a row it leaves behind: rolled back and applied again, it
    builds an index the first run did not."""
    broken_project(
        {
            "migrations/20240103000000_search.sql": "-- Search, on instances set up before.\n"
            "do $$ begin\n"
            "  if exists (select from auth.users where email = 'setup@example.test') then\n"
            "    create index if not exists notes_body_idx on public.notes (body);\n"
            "  end if;\n"
            "end $$;\n"
            "insert into auth.users (id, email, aud, role) values ('00000000-0000-4000-8000-00000000beef',"
            " 'setup@example.test', 'authenticated', 'authenticated') on conflict (id) do nothing;\n",
            "rollbacks/20240103000000_search.down.sql": "drop index if exists public.notes_body_idx;\n",
        },
    )
    result = run_suite(pytester, "test_rollbacks", "-k", "restores")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*after re-applying 20240103000000_search.sql once rolled back: the schema changed (1 difference(s)):",
            "*+ index public.notes_body_idx: *",
        ]
    )


SECOND_RUN_CASES = {
    "applies a migration again": (
        "-- Forgets itself.\n"
        "create or replace function public.forget_me() returns trigger language plpgsql as $$\n"
        "begin delete from supabase_migrations.schema_migrations where version = new.version"
        " and new.version = '20240103000000'; return null; end $$;\n"
        "drop trigger if exists forget_me on supabase_migrations.schema_migrations;\n"
        "create trigger forget_me after insert on supabase_migrations.schema_migrations\n"
        "  for each row execute function public.forget_me();\n",
        "*a second run applied ?'20240103000000_broken.sql'? again",
    ),
    "changes the schema": (
        "-- Stamps the schema after every DDL.\n"
        "create or replace function public.stamp_ddl() returns event_trigger language plpgsql as $$\n"
        "begin\n"
        "  if current_setting('app.stamping', true) = 'on' then return; end if;\n"
        "  perform set_config('app.stamping', 'on', true);\n"
        "  execute format('comment on table public.notes is %L', 'last DDL at ' || clock_timestamp());\n"
        "  perform set_config('app.stamping', 'off', true);\n"
        "end $$;\n"
        "drop event trigger if exists stamp_ddl;\n"
        "create event trigger stamp_ddl on ddl_command_end execute function public.stamp_ddl();\n",
        "*a second run of the runner: the schema changed (1 difference(s)):",
    ),
    "changes rows": (
        "-- Logs every DDL command.\n"
        "create table if not exists public.ddl_log (id bigint generated always as identity primary key, tag text);\n"
        "alter table public.ddl_log enable row level security;\n"
        "create or replace function public.log_ddl() returns event_trigger language plpgsql as $$\n"
        "begin insert into public.ddl_log (tag) values (tg_tag); end $$;\n"
        "drop event trigger if exists log_ddl;\n"
        "create event trigger log_ddl on ddl_command_end execute function public.log_ddl();\n",
        "*a second run of the runner: the data changed (1 table(s)):",
    ),
}


@pytest.mark.parametrize("case", list(SECOND_RUN_CASES))
def test_a_second_run_of_the_runner_fails_when_it(pytester, broken_project, case):
    statement, expected = SECOND_RUN_CASES[case]
    broken_project(
        {
            "migrations/20240103000000_broken.sql": statement,
            "rollbacks/20240103000000_broken.down.sql": "-- irreversible: a broken sample\n",
        },
    )
    result = run_suite(pytester, "test_reruns", "-k", "second_run")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([expected])
