"""The refresh production runs: each refresh entry point the project declares (`refresh_functions`), called as
its schedule calls it.

On a clone of the seeded database, per entry point: readers keep reading every view it refreshes while it runs
and never wait on its locks; a second call while the first is still running neither fails nor waits for it; and
after the base data changed, one call leaves every view it refreshes equal to its definition (a view refreshed
before one it reads keeps the old rows). Which views an entry point refreshes is observed, not parsed
(`matviews.refreshed_by`): the locks its transaction holds. With no entry point declared, every test skips and
says so: that path is then not checked.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import sql

from phase3test.fixtures import ServerInfo
from phase3test.inspection import matviews
from phase3test.profiling.workload import READER, SAMPLE_S, Workload
from phase3test.settings import Settings

NOT_DECLARED = (
    "no refresh entry point declared (refresh_functions): the refresh production runs is not checked; "
    'declare it, e.g. refresh_functions = "private.refresh_dashboard_views()"'
)
# On production data a refresh takes seconds, on the seeded clone milliseconds: its transaction stays open this
# long after the call, standing in for that, so a lock that blocks readers blocks them measurably.
HOLD_S = 0.5
# A concurrent refresh makes readers wait on no lock at all, at any data size. Below max_lock_ms (a one-off
# migration's budget): a scheduled refresh runs forever, and this only absorbs the 2 ms sampling and a loaded
# machine; a reader a blocking lock holds waits at least HOLD_S, five times as long.
WAIT_MS = 100
# What a session waits for: the lock's mode, and the relation it is on (else the kind of lock, e.g. advisory).
WAITS = """select l.mode || coalesce(' on ' || format('%%I.%%I', n.nspname, c.relname), ' (' || l.locktype || ')')
             from pg_locks l left join pg_class c on c.oid = l.relation
             left join pg_namespace n on n.oid = c.relnamespace
            where l.pid = %s and not l.granted"""


@pytest.fixture
def entry_points(pg_settings: Settings) -> tuple[str, ...]:
    if not pg_settings.refresh_functions:
        pytest.skip(NOT_DECLARED)
    return pg_settings.refresh_functions


def test_readers_never_wait_on_the_locks_of_a_refresh_entry_point(
    entry_points: tuple[str, ...], fresh_db: psycopg.Connection, pg_server: ServerInfo
) -> None:
    dsn = pg_server.conninfo(fresh_db.info.dbname)
    lines, blocked = [], []
    for call in entry_points:
        refreshed = refreshed_views(fresh_db, call)
        with Workload(dsn, list(refreshed), kinds=(READER,)) as load, fresh_db.transaction():
            fresh_db.execute(matviews.entry_call(call))
            time.sleep(HOLD_S)  # committed before the readers stop
        assert not load.errors, f"{call}: the readers failed: {'; '.join(load.errors)}"
        for wait in load.waits:
            lines.append(f"{call}: readers of {wait.table} (it takes {refreshed[wait.table]}): "
                         f"longest read {wait.longest_ms:,.0f} ms")  # fmt: skip
            if wait.waited_for and wait.longest_ms > WAIT_MS:
                blocked.append(
                    f"{call} kept readers of {wait.table} waiting {wait.longest_ms:,.0f} ms on the "
                    f"{refreshed[wait.table]} it takes (over {WAIT_MS} ms)"
                    + (": refresh it CONCURRENTLY" if refreshed[wait.table] == "AccessExclusiveLock" else "")
                )
    print("\n" + "\n".join(lines))
    assert not blocked, "\n".join(blocked)  # check: refresh_path.readers_never_wait


def test_a_second_call_while_one_runs_neither_fails_nor_waits(
    entry_points: tuple[str, ...], fresh_db: psycopg.Connection, pg_server: ServerInfo
) -> None:
    dsn = pg_server.conninfo(fresh_db.info.dbname)
    problems = []
    for call in entry_points:
        refreshed_views(fresh_db, call)
        error, waited = second_call(dsn, call)
        if waited:
            problems.append(f"{call}: a second call while one runs waited on its locks ({', '.join(sorted(waited))})"
                            f"{' until lock_timeout' if error else ''}: guard it, e.g. return early unless "
                            "pg_try_advisory_xact_lock(<key>)")  # fmt: skip
        elif error:
            problems.append(f"{call}: a second call while one runs failed: {error}")
    assert not problems, "\n".join(problems)  # check: refresh_path.no_queue


def test_after_the_data_changed_one_call_leaves_every_view_equal_to_its_definition(
    entry_points: tuple[str, ...], fresh_db: psycopg.Connection
) -> None:
    views = {view.name: view for view in matviews.materialized_views(fresh_db)}
    lines, stale = [], []
    for call in entry_points:
        refreshed = [views[name] for name in refreshed_views(fresh_db, call)]
        changed = matviews.change_base_tables(fresh_db, refreshed)
        with fresh_db.transaction():  # one snapshot and one now() for the call and the comparison
            before = [view.name for view in refreshed if any(matviews.drift(fresh_db, view))]
            fresh_db.execute(matviews.entry_call(call))
            for view in refreshed:
                lacking, extra = matviews.drift(fresh_db, view)
                if lacking or extra:
                    reads = [name for name in view.depends_on if name in views]
                    stale.append(
                        f"{call} left {view.name} unlike its definition: it lacks {lacking} row(s) the definition "
                        f"gives and has {extra} it does not"
                        + (f"; it reads {', '.join(reads)}: refresh that first" if reads else "")
                    )
        lines.append(f"{call}: {len(before)} of {len(refreshed)} view(s) out of date before the call "
                     f"(rows deleted from {', '.join(changed) or 'no table'})")  # fmt: skip
    print("\n" + "\n".join(lines))
    assert not stale, "\n".join(stale)  # check: refresh_path.no_drift


def refreshed_views(conn: psycopg.Connection, call: str) -> dict[str, str]:
    """The views `call` refreshes, with the lock it takes on each; an entry point that refreshes none, or raises,
    is declared wrong."""
    error = ""
    try:
        refreshed = matviews.refreshed_by(conn, call)
    except psycopg.Error as exc:
        refreshed, error = {}, f": it raised {exc.sqlstate}: {exc}"
    assert refreshed, (  # check: refresh_path.refreshes_views
        f"the refresh entry point {call} refreshed no materialized view{error}"
    )
    return refreshed


def second_call(dsn: str, call: str) -> tuple[str, set[str]]:
    """`call` from a second connection while a first has run it and keeps its transaction open: the error the
    second raised ("" if none) and the locks it waited for, sampled as the profile's workload samples them. A
    lock_timeout of WAIT_MS ends a wait (the first holds its locks until the second is done)."""
    statement = matviews.entry_call(call)
    waited: set[str] = set()
    errors: list[str] = []
    with (
        psycopg.connect(dsn) as first,
        psycopg.connect(dsn, autocommit=True) as second,
        psycopg.connect(dsn, autocommit=True) as monitor,
    ):
        first.execute(statement)
        second.execute(sql.SQL("set lock_timeout = {}").format(f"{WAIT_MS}ms"))
        done = threading.Event()

        def run() -> None:
            try:
                second.execute(statement)
            except psycopg.Error as exc:
                errors.append(f"{exc.sqlstate}: {exc}")
            finally:
                done.set()

        thread = threading.Thread(target=run)
        thread.start()
        while not done.is_set():
            waited.update(lock for (lock,) in monitor.execute(WAITS, (second.info.backend_pid,)))
            time.sleep(SAMPLE_S)
        thread.join()
        first.commit()
    return "; ".join(errors), waited
