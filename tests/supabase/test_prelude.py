"""`as_role` sets the identity exactly as PostgREST's per-request prelude does."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from phase3test.supabase.prelude import as_role as as_role_function

USER = uuid.UUID("11111111-2222-4333-8444-555555555555")


def setting(conn: psycopg.Connection, name: str) -> str | None:
    return conn.execute("select current_setting(%s, true)", (name,)).fetchone()[0]


def test_fixture_is_the_library_function(as_role):
    assert as_role is as_role_function


def test_authenticated_user_prelude(db, as_role):
    as_role(db, "authenticated", user=USER, claims={"email": "a@example.test"}, method="POST", path="/rest/v1/x")
    assert db.execute("select current_user, auth.uid(), auth.role(), auth.email()").fetchone() == (
        "authenticated",
        USER,
        "authenticated",
        "a@example.test",
    )
    claims = json.loads(setting(db, "request.jwt.claims"))
    assert claims == {"role": "authenticated", "sub": str(USER), "aud": "authenticated", "email": "a@example.test"}
    assert (setting(db, "request.method"), setting(db, "request.path")) == ("POST", "/rest/v1/x")
    assert setting(db, "search_path") == '"public", "extensions"'


def test_anon_has_no_uid_and_claims_still_carry_the_role(db, as_role):
    as_role(db, "anon")
    assert db.execute("select current_user, auth.uid()").fetchone() == ("anon", None)
    assert json.loads(setting(db, "request.jwt.claims")) == {"role": "anon"}


def test_role_claim_cannot_disagree_with_the_role(db, as_role):
    as_role(db, "anon", claims={"role": "service_role"})
    assert json.loads(setting(db, "request.jwt.claims"))["role"] == "anon"


def test_headers_are_lower_cased(db, as_role):
    as_role(db, "anon", headers={"X-Client-Info": "supabase-js/2", "Prefer": "return=minimal"})
    assert json.loads(setting(db, "request.headers")) == {"x-client-info": "supabase-js/2", "prefer": "return=minimal"}


def test_impersonated_role_settings_apply_like_postgrest(db, as_role):
    as_role(db, "anon")
    assert setting(db, "statement_timeout") == "3s"
    as_role(db, "authenticated", user=USER)
    assert setting(db, "statement_timeout") == "8s"


def test_settings_are_transaction_local(pg_server, as_role):
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        with conn.transaction():
            as_role(conn, "anon")
            assert setting(conn, "role") == "anon"
        assert conn.execute("select current_user").fetchone()[0] == "postgres"
        assert setting(conn, "request.jwt.claims") in ("", None)


def test_context_manager_restores_the_previous_identity(db, as_role):
    with as_role(db, "authenticated", user=USER):
        assert db.execute("select current_user").fetchone()[0] == "authenticated"
    assert db.execute("select current_user").fetchone()[0] == "postgres"
    assert setting(db, "request.jwt.claims") == ""
    assert setting(db, "statement_timeout") == "0"


def test_refuses_a_connection_outside_a_transaction(pg_server, as_role):
    with (
        psycopg.connect(pg_server.dsn, autocommit=True) as conn,
        pytest.raises(psycopg.ProgrammingError, match="needs a transaction"),
    ):
        as_role(conn, "anon")


def test_anon_is_denied_a_table_without_grants(db, as_role):
    db.execute("create table public.private_stuff (x int)")
    db.execute("revoke all on public.private_stuff from anon")
    as_role(db, "anon")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("select * from public.private_stuff")
