"""The lock profile of a migration on a real table of 300,000 rows (fix_tables.gadgets): what each statement
locks, rewrites and reads in full, as PostgreSQL does it (the unsafe form and its safe rewrite side by side)."""

from __future__ import annotations


def test_an_index_built_in_place_holds_a_lock_that_blocks_writers_until_commit(gadgets, measured):
    result = measured(gadgets, "create index gadgets_weight_idx on public.gadgets (weight);\nselect 1;\n")
    lock = result.strongest()["public.gadgets"]
    assert (lock.mode, lock.line, lock.blocks) == ("ShareLock", 1, "writers")
    assert lock.held_ms >= result.statements[0].ms > 0
    assert result.transactional and result.statements[0].locks == (("public.gadgets", "ShareLock"),)
    assert result.statements[0].scanned == ("public.gadgets",)  # the build reads every row


def test_an_index_built_concurrently_runs_outside_a_transaction_and_holds_nothing_to_commit(gadgets, measured):
    result = measured(gadgets, "create index concurrently gadgets_weight_idx on public.gadgets (weight);\n")
    assert not result.transactional and result.locks == [] and result.statements[0].ms > 0


def test_a_volatile_default_rewrites_the_table_and_a_constant_one_does_not(gadgets, measured):
    volatile = measured(gadgets, "alter table public.gadgets add column seen timestamptz default clock_timestamp();\n")
    assert volatile.statements[0].rewrote == ("public.gadgets",)
    assert volatile.strongest()["public.gadgets"].blocks == "readers and writers"
    constant = measured(gadgets, "alter table public.gadgets add column grams int default 0;\n", "20261201000001")
    assert constant.statements[0].rewrote == ()


def test_a_constraint_validated_in_place_reads_the_whole_table_and_not_valid_does_not(gadgets, measured):
    in_place = measured(gadgets, "alter table public.gadgets add constraint light check (weight < 5000);\n")
    assert in_place.statements[0].scanned == ("public.gadgets",)
    deferred = measured(
        gadgets, "alter table public.gadgets add constraint light2 check (weight < 5000) not valid;\n", "20261201000001"
    )
    assert deferred.statements[0].scanned == ()


def test_rows_a_statement_changes_are_counted_and_stay_locked_until_commit(gadgets, measured):
    result = measured(gadgets, "update public.gadgets set weight = weight + 1 where id <= 1000;\nselect 1;\n")
    assert result.statements[0].rows_locked == (("public.gadgets", 1000),)
    assert result.statements[0].held_ms >= result.statements[0].ms + result.statements[1].ms
