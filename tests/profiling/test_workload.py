"""Readers and writers from other connections while a migration runs on 300,000 rows (fix_tables.gadgets):
writers wait for an index built in place and name the lock they waited for; readers do not; built
concurrently, nobody waits on a table lock."""

from __future__ import annotations

from phase3test.profiling.rules import findings
from phase3test.profiling.workload import READER, ROW_LOCK, WRITER, Workload


def waits_during(gadgets, pg_server, measured, sql: str) -> dict[str, object]:
    with Workload(pg_server.conninfo(gadgets.info.dbname), ["public.gadgets"]) as load:
        result = measured(gadgets, sql)
    assert not load.errors
    result.waits = load.waits
    return {wait.kind: wait for wait in load.waits} | {"profile": result}


def test_writers_wait_for_an_index_built_in_place_and_readers_do_not(gadgets, pg_server, measured):
    seen = waits_during(gadgets, pg_server, measured, "create index gadgets_weight_idx on public.gadgets (weight);\n")
    held = seen["profile"].strongest()["public.gadgets"].held_ms
    assert seen[WRITER].waited_for == {"RowExclusiveLock"} and seen[WRITER].longest_ms >= held / 2
    assert seen[READER].waited_for == set()


def test_built_concurrently_no_writer_waits_on_a_table_lock(gadgets, pg_server, measured):
    sql = "create index concurrently gadgets_weight_idx on public.gadgets (weight);\n"
    seen = waits_during(gadgets, pg_server, measured, sql)
    assert seen[WRITER].waited_for <= {ROW_LOCK} and seen[READER].waited_for == set()


def test_a_backfill_in_one_statement_keeps_writers_waiting_on_its_rows(gadgets, pg_server, measured):
    seen = waits_during(gadgets, pg_server, measured, "update public.gadgets set weight = weight + 1;\n")
    assert ROW_LOCK in seen[WRITER].waited_for


def test_readers_kept_waiting_by_a_rewrite_fail_the_profile(gadgets, pg_server, measured):
    sql = "alter table public.gadgets add column seen timestamptz default clock_timestamp();\n"
    rewrite = waits_during(gadgets, pg_server, measured, sql)
    assert rewrite[READER].waited_for == {"AccessShareLock"}
    readers = [
        str(f) for f in findings(rewrite["profile"], 10) if "kept readers of public.gadgets waiting" in f.message
    ]
    assert len(readers) == 1 and "(for AccessShareLock)" in readers[0] and "without a volatile default" in readers[0]


def test_a_slow_read_that_waited_on_no_lock_is_not_blamed_on_the_migration(gadgets, pg_server, measured):
    """A loaded machine can make any read slow; only a read that waited for a lock says the migration kept it."""
    seen = waits_during(gadgets, pg_server, measured, "create index gadgets_weight_idx on public.gadgets (weight);\n")
    seen[READER].longest_ms = 60_000.0  # as slow as a starved machine makes it, waiting on nothing
    assert not [f for f in findings(seen["profile"], 10) if f.rule == "readers_waited"]
