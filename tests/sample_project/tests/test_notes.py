"""The sample project's own RLS tests, written against the phase3test fixtures."""

import psycopg
import pytest


def test_owner_reads_only_own_notes(db, users, as_role):
    as_role(db, "authenticated", user=users["alice"])
    rows = db.execute("select owner_id from public.notes").fetchall()
    assert rows == [(users["alice"],)]


def test_anon_reads_nothing(db, users, as_role):
    as_role(db, "anon")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # notes are granted to signed-in users only
        db.execute("select count(*) from public.notes")


def test_cannot_write_as_someone_else(db, users, as_role):
    as_role(db, "authenticated", user=users["alice"])
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("insert into public.notes (owner_id, body) values (%s, 'forged')", (users["bob"],))


def test_service_role_bypasses_rls(db, users, as_role):
    as_role(db, "service_role")
    assert db.execute("select count(*) from public.notes").fetchone() == (2,)
