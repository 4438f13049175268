"""Materialized views: refreshed concurrently, correct afterwards, and never in readers' way.

Every materialized view is found from the catalog. Each needs a unique index
concurrent refresh can use; after writes to its base tables and the
project's refresh (its refresh functions, else a concurrent refresh of each
view), its rows equal its definition run fresh, both ways, duplicates
counted. Readers querying a view while the project's refresh keeps its
transaction open never wait on a lock, where a plain refresh, measured the
same way as the control, does block them. Refresh functions name views in
dependency order, and two calls at once neither fail nor queue up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest

from phase3test.fixtures import ServerInfo
from phase3test.inspection import matviews
from phase3test.inspection.matviews import MatView
from phase3test.report.regression import MATVIEWS

HOLD = 0.3  # seconds the refreshing transaction stays open while readers read


@pytest.fixture
def views(fresh_db: psycopg.Connection) -> list[MatView]:
    found = matviews.materialized_views(fresh_db)
    if not found:
        pytest.skip("the project has no materialized views")
    return found


def test_every_materialized_view_has_a_unique_index_concurrent_refresh_can_use(views: list[MatView]) -> None:
    unusable = [view.name for view in views if view.unique_index is None]
    assert not unusable, (  # check: matviews.unique_index
        "REFRESH ... CONCURRENTLY needs a unique index on plain columns, without a WHERE clause, on: "
        + ", ".join(unusable)
    )


def test_after_writes_and_the_refresh_every_view_equals_its_definition(
    views: list[MatView], fresh_db: psycopg.Connection
) -> None:
    refresh(fresh_db, views)
    changed = matviews.change_base_tables(fresh_db, views)
    with fresh_db.transaction():  # one snapshot and one now() for the refresh and the comparison
        refresh(fresh_db, views)
        drifted = []
        for view in views:
            lacking, extra = matviews.drift(fresh_db, view)
            if lacking or extra:
                drifted.append(f"{view.name}: lacks {lacking} row(s) its definition gives, has {extra} it does not")
    assert not drifted, (
        f"after writes to {', '.join(changed) or 'no base table'} and the refresh:\n  "
        + "\n  ".join(  # check: matviews.no_drift
            drifted
        )
    )


def test_readers_never_wait_for_a_concurrent_refresh(
    views: list[MatView],
    fresh_db: psycopg.Connection,
    pg_server: ServerInfo,
    record_property: Callable[[str, object], None],
) -> None:
    """Through the project's own refresh path (its refresh function, else a concurrent refresh), against a plain
    refresh as the control that shows the probe can see a wait."""
    refresh(fresh_db, views)
    dsn = pg_server.conninfo(fresh_db.info.dbname)
    paths = matviews.refresh_paths(fresh_db, views)
    lines, blocked, figures = [], [], {}
    for view in views:
        project = matviews.under_load(dsn, view, paths[view.name], hold=HOLD)
        plain = matviews.under_load(dsn, view, matviews.plain_refresh(view), hold=HOLD)
        assert not project.errors and not plain.errors, f"{view.name}: {project.errors + plain.errors}"
        assert plain.lock_waits, f"{view.name}: the control (a plain refresh) blocked no reader: the probe sees nothing"
        path = paths[view.name].as_string(fresh_db)
        lines.append(
            f"{view.name}: readers' median/p99 {project.median() * 1e3:.1f}/{project.p99() * 1e3:.1f} ms "
            f"during `{path}`, {plain.median() * 1e3:.1f}/{plain.p99() * 1e3:.1f} ms during a plain refresh"
        )
        figures[view.name] = {
            "refresh_ms": matviews.refresh_time(fresh_db, view) * 1e3,
            "concurrent_median_ms": project.median() * 1e3,
            "concurrent_p99_ms": project.p99() * 1e3,
            "plain_median_ms": plain.median() * 1e3,
            "plain_p99_ms": plain.p99() * 1e3,
            "concurrent_lock_waits": project.lock_waits,
            "plain_lock_waits": plain.lock_waits,
        }
        if project.lock_waits:
            blocked.append(
                f"{view.name}: readers waited on a lock in {project.lock_waits} of {project.samples} samples "
                f"during `{path}`"
            )
    record_property(MATVIEWS, figures)
    print("\n" + "\n".join(lines))
    assert not blocked, "the project's refresh blocked readers:\n  " + "\n  ".join(
        blocked
    )  # check: matviews.readers_never_wait


def test_refresh_functions_refresh_views_after_the_views_they_read(
    views: list[MatView], fresh_db: psycopg.Connection
) -> None:
    reads = {view.name: set(view.depends_on) for view in views}
    problems = []
    for function, order in matviews.refresh_functions(fresh_db).items():
        for position, name in enumerate(order):
            later = [dep for dep in reads.get(name, ()) if dep in order[position + 1 :]]
            problems += [f"{function} refreshes {name} before {dep}, which it reads" for dep in later]
    assert not problems, "\n".join(problems)  # check: matviews.refresh_order


def test_two_refreshes_at_once_neither_fail_nor_queue_up(
    views: list[MatView], fresh_db: psycopg.Connection, pg_server: ServerInfo
) -> None:
    functions = matviews.refresh_functions(fresh_db)
    if not functions:
        pytest.skip("no refresh function: each view is refreshed on its own")
    dsn = pg_server.conninfo(fresh_db.info.dbname)
    problems = []
    for function in functions:
        call = f"select {function.split('(')[0]}()"
        with psycopg.connect(dsn) as first, psycopg.connect(dsn, autocommit=True) as second:
            first.execute(call)  # holds its transaction open: the second call meets it
            started = time.perf_counter()
            try:
                second.execute("set statement_timeout = '5s'")
                second.execute(call)
            except psycopg.Error as exc:
                problems.append(f"{function}: a second call while one runs failed: {exc.sqlstate}: {exc}")
            waited = time.perf_counter() - started
            first.commit()
        if waited > 1:
            problems.append(f"{function}: a second call waited {waited:.1f} s for the first instead of skipping")
    assert not problems, "\n".join(problems)  # check: matviews.no_queue


def refresh(conn: psycopg.Connection, views: list[MatView]) -> None:
    """The project's refresh of every view (`matviews.refresh_paths`), in dependency order, each refresh function
    called once."""
    done: set[str] = set()
    for path in matviews.refresh_paths(conn, views).values():
        statement = path.as_string(conn)
        if statement not in done:
            conn.execute(path)
            done.add(statement)
