"""Each suite, fed a deliberately broken migration, fails and says where and what.

Every case is the sample project (tests/sample_project) plus one bad file,
run through `pytest --pyargs phase3test.suites...` in a real subprocess with
seed data, exactly as a user's CI would run it. The unbroken project passes
every suite, under -n 2 too.
"""

from __future__ import annotations

import subprocess

import pytest

from phase3test.migrations.static import find_squawk

pytestmark = pytest.mark.slow


def run_suite(pytester: pytest.Pytester, suites: str, *args: str) -> pytest.RunResult:
    """Run one suite, or several separated by commas (`test_access,test_security`), in a pytest subprocess."""
    modules = [f"phase3test.suites.{suite}" for suite in suites.split(",")]
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-rs", *args, "--pyargs", *modules)


def test_the_unbroken_sample_project_passes_every_suite_in_parallel(pytester, broken_project):
    broken_project({})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--pyargs", "phase3test.suites")
    result.assert_outcomes(passed=49, skipped=7)  # no base ref; no materialized views; no API stack


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
            "*add_attachments.sql: the Supabase CLI skips it (file names must match <timestamp>_name.sql)*",
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
    subprocess.run([*git, "init", "-q"], cwd=pytester.path, check=True)
    subprocess.run([*git, "add", "supabase"], cwd=pytester.path, check=True)
    subprocess.run([*git, "commit", "-qm", "main"], cwd=pytester.path, check=True)
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
            "create policy notes_anon_read on public.notes for select to anon using (true);\n",
            "rollbacks/20240103000000_broken.down.sql": "-- irreversible: a broken sample\n",
        },
    )
    result = run_suite(pytester, "test_access", "--pg-access-report", "reports/access.md")
    result.assert_outcomes(passed=24, failed=1)  # 24 cells and the coverage test
    report = (pytester.path / "reports/access.md").read_text()
    assert "24 cells, 23 as declared, 1 not." in report
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


def fails_on(pytester: pytest.Pytester, broken_project, case: tuple[str, list[str]], suites: str) -> None:
    """The sample project plus one broken migration makes the suites fail, printing every expected line."""
    statement, expected = case
    broken_project(
        {
            "migrations/20240103000000_broken.sql": f"-- Broken.\n{statement}",
            "rollbacks/20240103000000_broken.down.sql": "-- irreversible: a broken sample\n",
        },
    )
    result = run_suite(pytester, suites)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines_random(expected)


def test_a_deny_is_checked_on_the_acting_users_own_rows_too(pytester, broken_project):
    """The matrix says writers may not update notes, but the policy lets them update their own."""
    project = broken_project({})
    matrix = project / "fixtures/rls_matrix.yaml"
    notes, tags = matrix.read_text().split("  public.note_tags:")
    matrix.write_text(
        notes.replace("update: {writer: own, service_role: allow}", "update: {service_role: allow}")
        + "  public.note_tags:"
        + tags
    )
    result = run_suite(pytester, "test_access", "-k", "notes-writer-update")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*writer update on public.notes: expected deny, but the update reached 2 of 4 rows"])
