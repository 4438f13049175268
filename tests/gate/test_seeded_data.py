"""Gate: the template the suites run on is seeded, deterministically, in every public table."""

from __future__ import annotations

import pytest


def public_tables(conn) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select c.oid::regclass::text from pg_class c"
            " where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1"
        )
    ]


def test_db_starts_on_seed_data_in_every_public_table(db):
    empty = [t for t in public_tables(db) if db.execute(f"select not exists (select from {t})").fetchone()[0]]
    assert public_tables(db) and empty == []


@pytest.mark.unseeded
def test_a_test_marked_unseeded_starts_on_empty_tables(db):
    filled = [t for t in public_tables(db) if db.execute(f"select exists (select from {t})").fetchone()[0]]
    assert filled == ["support_sla"], "only the migration's own reference rows"
