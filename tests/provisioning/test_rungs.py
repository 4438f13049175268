"""Rungs: a long chain gets a template every ten versions both ways, and a database taken from the nearest rung is
the database the whole walk from the head (or the bootstrap) makes: same schema, same rows, same closure.

The sample project plus 23 small migrations (25 in all: rungs at 10 and 20), in a pytest subprocess whose test
compares, on the real server, each shortcut with the long way.
"""

from __future__ import annotations

import pytest
from limits import SUBPROCESS_TIMEOUT

pytestmark = pytest.mark.slow
EXTRA = 23


def numbered(count: int, files: dict[str, str] | None = None, rollbacks: bool = True) -> dict[str, str]:
    """`count` migrations after the sample's two, each a table with (unless not) its rollback; `files` replaces
    some."""
    made = {}
    for n in range(1, count + 1):
        version = f"2024020100{n:04d}"
        made[f"migrations/{version}_t{n}.sql"] = (
            f"create table if not exists public.t{n} (id int primary key, note text);\n"
            f"alter table public.t{n} enable row level security;\n"
        )
        if rollbacks:
            made[f"rollbacks/{version}_t{n}.down.sql"] = f"drop table if exists public.t{n};\n"
    return made | (files or {})


COMPARES = """
import psycopg

from phase3test.inspection import contents
from phase3test.inspection.catalog import assert_same, snapshot
from phase3test.migrations.downward import roll_back_seeded
from phase3test.migrations.runner import migrate
from phase3test.server import rungs


def rows(conn):
    return contents.read(conn, contents.columns_of(snapshot(conn)))


def test_each_shortcut_is_the_long_way(pg_databases, seeded_template, migration_chain, supabase_project,
                                       rolled_back_to, migrated_to):
    admin, empty = pg_databases.admin, pg_databases.target.template("empty")
    print("RUNGS", sorted(rungs.found(admin, seeded_template, rungs.DOWN)), sorted(rungs.found(admin, empty, rungs.UP)))
    for keep in KEEPS:
        short, closed = rolled_back_to(keep)
        long_way = pg_databases.connect(pg_databases.create(seeded_template, "long"))
        assert closed == roll_back_seeded(long_way, migration_chain, keep, supabase_project)
        print("CLOSED", keep, closed or "-")
        if not closed:
            assert_same(snapshot(long_way), snapshot(short), f"rolled back to {keep}")
            contents.assert_unchanged(rows(long_way), rows(short), f"rolled back to {keep}")
        up = pg_databases.connect(pg_databases.create(empty, "long_up"))
        migrate(up, migration_chain[:keep])
        assert_same(snapshot(up), snapshot(migrated_to(keep)), f"migrated to {keep}")
"""


def run_compare(pytester: pytest.Pytester, keeps: tuple[int, ...]) -> pytest.RunResult:
    pytester.makepyfile(test_compare=COMPARES.replace("KEEPS", repr(keeps)))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-s", timeout=SUBPROCESS_TIMEOUT)


def test_a_long_chain_gets_rungs_and_every_shortcut_equals_the_whole_walk(pytester, broken_project):
    broken_project(numbered(EXTRA, {"seed.sql": "insert into public.t5 values (1, 'kept'), (2, 'too');\n"}))
    keeps = (0, 1, 4, 10, 11, 19, 20, 24, 25)
    result = run_compare(pytester, keeps)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*RUNGS [[]10, 20[]] [[]10, 20[]]", *(f"CLOSED {keep} -" for keep in keeps)])


def test_below_a_migration_the_way_down_cannot_pass_the_shortcut_meets_the_same_closure(pytester, broken_project):
    irreversible = "2024020100" + f"{15:04d}"
    broken_project(
        numbered(EXTRA, {f"rollbacks/{irreversible}_t15.down.sql": "-- irreversible: the t15 rows cannot come back\n"})
    )
    result = run_compare(pytester, (3, 12, 16, 22))
    result.assert_outcomes(passed=1)
    # t15 is the 17th file. The rung at 20 is above it and made; the one at 10 is below it: none, so a walk there
    # starts at 20 and stops at t15, as the walk from the head does.
    closed = "*_t15.sql is declared irreversible: the t15 rows cannot come back"
    result.stdout.fnmatch_lines(
        ["*RUNGS [[]20[]] [[]10, 20[]]", f"CLOSED 3 {closed}", f"CLOSED 12 {closed}", f"CLOSED 16 {closed}",
         "CLOSED 22 -"]
    )  # fmt: skip


def test_a_fault_below_a_rung_is_still_caught_naming_its_file(pytester, broken_project):
    """The third of 25 files is no longer idempotent; its check starts at the rung at 10 and walks down to it."""
    broken = "2024020100" + f"{3:04d}"
    broken_project(numbered(EXTRA, {f"migrations/{broken}_t3.sql": "create table public.t3 (id int primary key);\n"}))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", "--pyargs", "phase3test.suites.test_idempotency",
        timeout=SUBPROCESS_TIMEOUT,
    )  # fmt: skip
    result.assert_outcomes(passed=EXTRA + 1, failed=1)
    result.stdout.fnmatch_lines([f'*{broken}_t3.sql:1:1: ERROR 42P07: relation "t3" already exists*'])


def test_a_history_without_rollbacks_gets_no_rung_down_and_every_check_meets_the_missing_rollback(
    pytester, broken_project
):
    """Most real Supabase repositories keep no rollbacks: the way down closes at the newest file, so no rung is
    made below the head, and a check anywhere gets the reason it got walking from the head."""
    broken_project(numbered(EXTRA, {"seed.sql": "insert into public.t5 values (1, 'kept');\n"}, rollbacks=False))
    result = run_compare(pytester, (2, 10, 24))
    result.assert_outcomes(passed=1)
    newest = "*_t23.sql has no rollback"
    result.stdout.fnmatch_lines(
        ["*RUNGS [[][]] [[]10, 20[]]", f"CLOSED 2 {newest}", f"CLOSED 10 {newest}", f"CLOSED 24 {newest}"]
    )
