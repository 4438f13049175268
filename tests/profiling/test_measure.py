"""The lock profile of a migration on a real table of 100,000 rows: what each statement locks, rewrites and
reads in full, as PostgreSQL does it (the unsafe form and its safe rewrite side by side)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from phase3test.migrations.discovery import discover
from phase3test.migrations.history import ensure_history
from phase3test.profiling.measure import Profile, profile

ROWS = 100_000


@pytest.fixture
def gadgets(empty_db: psycopg.Connection) -> psycopg.Connection:
    """A table with rows, before the migration under test."""
    ensure_history(empty_db)
    empty_db.execute("create table public.gadgets (id bigint primary key, weight int not null)")
    empty_db.execute(f"insert into public.gadgets select n, n % 1000 from generate_series(1, {ROWS}) n")
    empty_db.execute("analyze public.gadgets")
    return empty_db


def measured(conn: psycopg.Connection, tmp_path: Path, sql: str, version: str = "20261201000000") -> Profile:
    folder = tmp_path / version
    folder.mkdir()
    (folder / f"{version}_change.sql").write_text(sql)
    return profile(conn, discover(folder).migrations[0])


def test_an_index_built_in_place_holds_a_lock_that_blocks_writers_until_commit(gadgets, tmp_path):
    result = measured(gadgets, tmp_path, "create index gadgets_weight_idx on public.gadgets (weight);\nselect 1;\n")
    lock = result.strongest()["public.gadgets"]
    assert (lock.mode, lock.line, lock.blocks) == ("ShareLock", 1, "writers")
    assert lock.held_ms >= result.statements[0].ms > 0
    assert result.transactional and result.statements[0].locks == (("public.gadgets", "ShareLock"),)
    assert result.statements[0].scanned == ("public.gadgets",)  # the build reads every row


def test_an_index_built_concurrently_runs_outside_a_transaction_and_holds_nothing_to_commit(gadgets, tmp_path):
    result = measured(gadgets, tmp_path, "create index concurrently gadgets_weight_idx on public.gadgets (weight);\n")
    assert not result.transactional and result.locks == [] and result.statements[0].ms > 0


def test_a_volatile_default_rewrites_the_table_and_a_constant_one_does_not(gadgets, tmp_path):
    volatile = measured(
        gadgets, tmp_path, "alter table public.gadgets add column seen timestamptz default clock_timestamp();\n"
    )
    assert volatile.statements[0].rewrote == ("public.gadgets",)
    assert volatile.strongest()["public.gadgets"].blocks == "readers and writers"
    constant = measured(
        gadgets, tmp_path, "alter table public.gadgets add column grams int default 0;\n", "20261201000001"
    )
    assert constant.statements[0].rewrote == ()


def test_a_constraint_validated_in_place_reads_the_whole_table_and_not_valid_does_not(gadgets, tmp_path):
    in_place = measured(gadgets, tmp_path, "alter table public.gadgets add constraint light check (weight < 5000);\n")
    assert in_place.statements[0].scanned == ("public.gadgets",)
    deferred = measured(
        gadgets,
        tmp_path,
        "alter table public.gadgets add constraint light2 check (weight < 5000) not valid;\n",
        "20261201000001",
    )
    assert deferred.statements[0].scanned == ()
