"""Audit & security (20251111000800_phase3_audit_security): strictly admin-only, secrets for super admins only."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations import apply, discover, migrate

VERSION = "20251111000800"
STAFF_AND_CUSTOMERS = ["customer", "admin", "super_admin", "finance", "marketing", "security", "pricing_service"]

ROW_IDS = {
    "audit_events": "00000000-0000-4000-8000-0000000ae001",
    "audit_event_tags": "00000000-0000-4000-8000-0000000ae701",
    "security_incidents": "00000000-0000-4000-8000-0000000a1c01",
    "admin_invites": "00000000-0000-4000-8000-0000000a1401",
    "admin_sessions": "00000000-0000-4000-8000-0000000a5e01",
    "secret_store": "00000000-0000-4000-8000-0000000a5c01",
    "settings_change_requests": "00000000-0000-4000-8000-0000000a5d01",
}
TABLES = list(ROW_IDS)
ADMINS = {"admin", "super_admin"}
READERS = {
    "audit_events": ADMINS | {"security"},
    "audit_event_tags": ADMINS | {"security"},
    "security_incidents": ADMINS | {"security"},
    "admin_invites": ADMINS,
    "admin_sessions": ADMINS,
    "secret_store": {"super_admin"},
    "settings_change_requests": ADMINS,
}
INSERTERS = {**READERS, "audit_event_tags": ADMINS, "audit_events": ADMINS}
# Who may update and delete existing rows: nobody on the append-only audit log.
UPDATERS = {**INSERTERS, "audit_events": set()}

# A new row per table, written by the user `me`.
NEW_ROW = {
    "audit_events": "(actor_id, action) values ('{me}', 'settings.viewed')",
    "audit_event_tags": f"(event_id, tag) values ('{ROW_IDS['audit_events']}', 'reviewed')",
    "security_incidents": "(title, reported_by) values ('Phishing mail to staff', '{me}')",
    "admin_invites": (
        "(email, role, token_hash, invited_by) values ('new.ops@example.test', 'marketing', '\\x01', '{me}')"
    ),
    "admin_sessions": "(user_id, session_token_hash, expires_at) values ('{me}', '\\x02', now() + interval '1 hour')",
    "secret_store": "(key, ciphertext, nonce) values ('mail.smtp_password', '\\x03', '\\x04')",
    "settings_change_requests": (
        "(setting_key, proposed_value, requested_by, status) values ('booking.max_days', '60', '{me}', 'cancelled')"
    ),
}


def refused(conn: psycopg.Connection, sql: str, params: tuple = ()) -> bool:
    """True when the statement is refused for lack of privilege (RLS, grants or a guard)."""
    try:
        with conn.transaction():
            conn.execute(sql, params)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def sign_in(conn, as_role, people, who: str) -> str:
    user = getattr(people, who)
    as_role(conn, "authenticated", user=user)
    return user


# Who reads and writes each table ----------------------------------------------


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", STAFF_AND_CUSTOMERS)
def test_only_the_tables_readers_see_its_rows(rows, as_role, people, who, table):
    sign_in(rows, as_role, people, who)
    visible = rows.execute(f"select id::text from public.{table}").fetchall()
    assert visible == ([(ROW_IDS[table],)] if who in READERS[table] else [])


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", STAFF_AND_CUSTOMERS)
def test_only_the_tables_writers_insert(rows, as_role, people, who, table):
    me = sign_in(rows, as_role, people, who)
    denied = refused(rows, f"insert into public.{table} " + NEW_ROW[table].format(me=me))
    assert denied == (who not in INSERTERS[table])


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", STAFF_AND_CUSTOMERS)
def test_only_the_tables_writers_update_and_delete(rows, as_role, people, who, table):
    sign_in(rows, as_role, people, who)
    expected = 1 if who in UPDATERS[table] else 0
    assert rows.execute(f"update public.{table} set created_at = created_at").rowcount == expected
    assert rows.execute(f"delete from public.{table}").rowcount == expected


@pytest.mark.parametrize("table", TABLES)
def test_anon_neither_reads_nor_writes(rows, as_role, table):
    as_role(rows, "anon")
    assert rows.execute(f"select count(*) from public.{table}").fetchone() == (0,)
    assert refused(rows, f"insert into public.{table} " + NEW_ROW[table].format(me=ROW_IDS["audit_events"]))


@pytest.mark.parametrize("table", TABLES)
def test_service_role_reads_every_table(rows, as_role, table):
    as_role(rows, "service_role")
    assert rows.execute(f"select id::text from public.{table}").fetchall() == [(ROW_IDS[table],)]


# audit_events ------------------------------------------------------------------


def test_admin_cannot_append_an_audit_event_in_someone_elses_name(rows, as_role, people):
    sign_in(rows, as_role, people, "admin")
    assert refused(
        rows, "insert into public.audit_events (actor_id, action) values (%s, 'user.deleted')", (people.super_admin,)
    )


def test_audit_events_stay_unchanged_when_an_admin_tries_to_edit_them(rows, as_role, people):
    sign_in(rows, as_role, people, "super_admin")
    rows.execute("update public.audit_events set action = 'nothing.happened'")
    assert rows.execute("select action from public.audit_events").fetchall() == [("booking.status_changed",)]


def test_audit_event_metadata_has_a_gin_index_that_answers_containment(rows):
    indexdef = rows.execute(
        "select indexdef from pg_indexes where schemaname = 'public' and tablename = 'audit_events'"
        " and indexdef like '%%USING gin (metadata)%%'"
    ).fetchall()
    assert len(indexdef) == 1
    found = rows.execute('select id::text from public.audit_events where metadata @> \'{"to": "completed"}\'')
    assert found.fetchall() == [(ROW_IDS["audit_events"],)]


def test_an_event_has_each_tag_once(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.audit_event_tags (event_id, tag) values (%s, 'bookings')", (ROW_IDS["audit_events"],)
        )


# admin_invites -------------------------------------------------------------------


def test_admin_cannot_invite_a_super_admin_but_a_super_admin_can(rows, as_role, people):
    invite = "insert into public.admin_invites (email, role, token_hash, invited_by) values (%s, 'super_admin', %s, %s)"
    sign_in(rows, as_role, people, "admin")
    assert refused(rows, invite, ("boss@example.test", b"\x0a", people.admin))
    assert refused(rows, "update public.admin_invites set role = 'super_admin'")
    sign_in(rows, as_role, people, "super_admin")
    assert not refused(rows, invite, ("boss@example.test", b"\x0a", people.super_admin))


def test_an_email_has_at_most_one_pending_invite(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.admin_invites (email, role, token_hash, invited_by)"
            " values ('NEW.finance@example.test', 'finance', '\\x0b', %s)",
            ("00000000-0000-4000-8000-0000000a0001",),
        )


# secret_store ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "security", "finance", "marketing", "pricing_service", "customer"])
def test_nobody_but_a_super_admin_reads_or_changes_secrets(rows, as_role, people, who):
    sign_in(rows, as_role, people, who)
    assert rows.execute("select count(*) from public.secret_store").fetchone() == (0,)
    assert rows.execute("update public.secret_store set key_version = 2").rowcount == 0


def test_super_admin_reads_and_rotates_secrets(rows, as_role, people):
    sign_in(rows, as_role, people, "super_admin")
    assert rows.execute("select key from public.secret_store").fetchall() == [("payments.provider_api_key",)]
    assert rows.execute("update public.secret_store set key_version = 2, rotated_at = now()").rowcount == 1


def test_secret_store_keeps_ciphertext_and_no_plaintext_column(db):
    columns = dict(
        db.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'public' and table_name = 'secret_store'"
        ).fetchall()
    )
    assert columns["ciphertext"] == "bytea"
    assert [c for c in columns if any(word in c for word in ("plain", "value", "secret"))] == []


def test_secret_keys_are_unique(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.secret_store (key, ciphertext, nonce)"
            " values ('payments.provider_api_key', '\\x01', '\\x02')"
        )


# settings_change_requests and system_settings ---------------------------------------


def test_nobody_approves_their_own_settings_change(rows, as_role, people):
    sign_in(rows, as_role, people, "admin")
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(
            "update public.settings_change_requests set status = 'approved', reviewed_by = %s, reviewed_at = now()",
            (people.admin,),
        )
    sign_in(rows, as_role, people, "super_admin")
    assert (
        rows.execute(
            "update public.settings_change_requests set status = 'approved', reviewed_by = %s, reviewed_at = now()",
            (people.super_admin,),
        ).rowcount
        == 1
    )


def test_a_setting_has_at_most_one_pending_change_request(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.settings_change_requests (setting_key, proposed_value, requested_by)"
            " values ('booking.max_days', '90', '00000000-0000-4000-8000-0000000a0002')"
        )


# Two-factor on users: the owner may switch it on; switching it off takes an admin ----


def test_customer_may_enable_their_own_two_factor(rows, as_role, people):
    sign_in(rows, as_role, people, "customer")
    assert (
        rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.customer,)).rowcount
        == 1
    )
    enabled, enrolled = rows.execute(
        "select two_factor_enabled, two_factor_enrolled_at is not null from public.users where id = %s",
        (people.customer,),
    ).fetchone()
    assert (enabled, enrolled) == (True, True)


def test_customer_cannot_switch_off_their_own_two_factor_through_the_api(rows, as_role, people):
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.customer,))
    sign_in(rows, as_role, people, "customer")
    assert refused(rows, "update public.users set two_factor_enabled = false where id = %s", (people.customer,))
    assert refused(rows, "update public.users set two_factor_enrolled_at = null where id = %s", (people.customer,))


def test_customer_cannot_change_another_customers_two_factor(rows, as_role, people):
    sign_in(rows, as_role, people, "customer")
    assert (
        rows.execute(
            "update public.users set two_factor_enabled = true where id = %s", (people.other_customer,)
        ).rowcount
        == 0
    )
    as_role(rows, "service_role")
    assert rows.execute(
        "select two_factor_enabled from public.users where id = %s", (people.other_customer,)
    ).fetchone() == (False,)


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_may_switch_off_a_users_two_factor(rows, as_role, people, who):
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.customer,))
    sign_in(rows, as_role, people, who)
    assert (
        rows.execute("update public.users set two_factor_enabled = false where id = %s", (people.customer,)).rowcount
        == 1
    )


def test_security_staff_cannot_switch_off_their_own_two_factor(rows, as_role, people):
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.security,))
    sign_in(rows, as_role, people, "security")
    assert refused(rows, "update public.users set two_factor_enabled = false where id = %s", (people.security,))


# Existing rows when the migration runs ------------------------------------------------


def test_existing_users_and_settings_get_safe_defaults(empty_db, supabase_project):
    every = discover(supabase_project.migrations_dir).migrations
    mine = next(m for m in every if m.version == VERSION)
    migrate(empty_db, every[: every.index(mine)])
    user = "00000000-0000-4000-8000-0000000c0009"
    empty_db.execute("insert into auth.users (id, email) values (%s, 'old@example.test')", (user,))
    empty_db.execute("insert into public.users (id, email) values (%s, 'old@example.test')", (user,))
    empty_db.execute("insert into public.system_settings (key, value) values ('legacy.flag', 'true')")

    apply(empty_db, mine)

    assert empty_db.execute(
        "select two_factor_enabled, two_factor_enrolled_at from public.users where id = %s", (user,)
    ).fetchone() == (False, None)
    assert empty_db.execute(
        "select requires_approval, validation_endpoint from public.system_settings where key = 'legacy.flag'"
    ).fetchone() == (False, None)
