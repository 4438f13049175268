"""Audit & security (20251111000800_phase3_audit_security): strictly admin-only, secrets for super admins only."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations.runner import apply

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
# Only the service role writes admin_sessions (it bypasses RLS and keeps its grants).
INSERTERS = {**READERS, "audit_event_tags": ADMINS, "audit_events": ADMINS, "admin_sessions": set()}
# Who may update and delete existing rows: nobody on the append-only audit log.
UPDATERS = {**INSERTERS, "audit_events": set()}
# Tables whose update and delete grants the API roles do not hold: every attempt is refused outright.
NO_API_UPDATES = {"audit_events", "admin_sessions"}

SESSION = ROW_IDS["admin_sessions"]  # Ada Admin's session
PROTECTED_SETTING = "payments.refund_window_days"  # requires_approval = true (rows/08_audit_security.sql)
OPEN_SETTING = "booking.max_days"  # requires_approval = false

# A new row per table, written by the user `me` whose app role is `role`.
NEW_ROW = {
    "audit_events": "(actor_id, actor_role, action) values ('{me}', '{role}', 'settings.viewed')",
    "audit_event_tags": f"(event_id, tag) values ('{ROW_IDS['audit_events']}', 'reviewed')",
    "security_incidents": "(title, reported_by) values ('Phishing mail to staff', '{me}')",
    "admin_invites": (
        "(email, role, token_hash, invited_by) values ('new.ops@example.test', 'marketing', '\\x01', '{me}')"
    ),
    "admin_sessions": "(user_id, session_token_hash, expires_at) values ('{me}', '\\x02', now() + interval '1 hour')",
    "secret_store": "(key, ciphertext, nonce) values ('mail.smtp_password', '\\x03', '\\x04')",
    "settings_change_requests": (
        "(setting_key, proposed_value, requested_by) values ('payments.refund_window_days', '21', '{me}')"
    ),
}


# Who reads and writes each table ----------------------------------------------


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", STAFF_AND_CUSTOMERS)
def test_only_the_tables_readers_see_its_rows(rows, act, who, table):
    act(who)
    visible = rows.execute(f"select id::text from public.{table}").fetchall()
    assert visible == ([(ROW_IDS[table],)] if who in READERS[table] else [])


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", STAFF_AND_CUSTOMERS)
def test_only_the_tables_writers_insert(rows, act, refused, people, who, table):
    act(who)
    me = getattr(people, who)
    denied = refused(rows, f"insert into public.{table} " + NEW_ROW[table].format(me=me, role=who))
    assert denied == (who not in INSERTERS[table])


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", STAFF_AND_CUSTOMERS)
def test_only_the_tables_writers_update_and_delete(rows, act, refused, who, table):
    act(who)
    update, delete = f"update public.{table} set created_at = created_at", f"delete from public.{table}"
    if table in NO_API_UPDATES:
        assert refused(rows, update)
        assert refused(rows, delete)
        return
    expected = 1 if who in UPDATERS[table] else 0
    assert rows.execute(update).rowcount == expected
    assert rows.execute(delete).rowcount == expected


@pytest.mark.parametrize("table", TABLES)
def test_anon_neither_reads_nor_writes(rows, refused, as_role, table):
    as_role(rows, "anon")
    assert refused(rows, f"select count(*) from public.{table}")  # granted nothing: refused before RLS is read
    assert refused(
        rows, f"insert into public.{table} " + NEW_ROW[table].format(me=ROW_IDS["audit_events"], role="anon")
    )


@pytest.mark.parametrize("table", TABLES)
def test_service_role_reads_every_table(rows, as_role, table):
    as_role(rows, "service_role")
    assert rows.execute(f"select id::text from public.{table}").fetchall() == [(ROW_IDS[table],)]


# audit_events ------------------------------------------------------------------


def test_admin_cannot_append_an_audit_event_in_someone_elses_name(rows, act, refused, people):
    act("admin")
    assert refused(
        rows, "insert into public.audit_events (actor_id, action) values (%s, 'user.deleted')", (people.super_admin,)
    )


def test_audit_events_stay_unchanged_when_an_admin_tries_to_edit_them(rows, act, refused):
    act("super_admin")
    assert refused(rows, "update public.audit_events set action = 'nothing.happened'")
    assert rows.execute("select action from public.audit_events").fetchall() == [("booking.status_changed",)]


@pytest.mark.parametrize("role", ["anon", "authenticated", "service_role"])
def test_nobody_updates_deletes_or_truncates_audit_events_not_even_the_service_role(
    rows, refused, as_role, people, role
):
    as_role(rows, role, user=people.super_admin if role == "authenticated" else None)
    assert refused(rows, "update public.audit_events set action = 'nothing.happened'")
    assert refused(rows, "delete from public.audit_events")
    assert refused(rows, "truncate public.audit_events cascade")
    as_role(rows, "service_role")
    assert rows.execute("select action from public.audit_events").fetchall() == [("booking.status_changed",)]


def test_the_service_role_still_appends_audit_events(rows, as_role):
    as_role(rows, "service_role")
    rows.execute("insert into public.audit_events (actor_role, action) values ('system', 'alerts.refreshed')")
    assert rows.execute("select count(*) from public.audit_events").fetchone() == (2,)


def test_deleting_a_user_still_clears_actor_id_on_their_audit_events(rows, as_role):
    user = "00000000-0000-4000-8000-0000000c0009"
    rows.execute("insert into auth.users (id, email) values (%s, 'gone@example.test')", (user,))
    rows.execute("insert into public.users (id, email) values (%s, 'gone@example.test')", (user,))
    event = rows.execute(
        "insert into public.audit_events (actor_id, actor_role, action) values (%s, 'customer', 'user.signed_in')"
        " returning id",
        (user,),
    ).fetchone()[0]
    as_role(rows, "service_role")
    assert rows.execute("delete from public.users where id = %s", (user,)).rowcount == 1
    assert rows.execute("select actor_id from public.audit_events where id = %s", (event,)).fetchone() == (None,)


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_append_audit_events_with_their_own_role_and_the_current_time(rows, act, refused, people, who):
    act(who)
    me = getattr(people, who)
    insert = "insert into public.audit_events (actor_id, actor_role, action, occurred_at) values (%s, %s, 'x.y', %s)"
    assert not refused(rows, insert.replace(", %s)", ", now())"), (me, who))
    assert refused(rows, insert.replace(", %s)", ", now())"), (me, "security"))
    other = "admin" if who == "super_admin" else "super_admin"
    assert refused(rows, insert.replace(", %s)", ", now())"), (me, other))
    assert refused(rows, insert, (me, who, "2020-01-01 00:00+00"))
    assert refused(rows, insert.replace(", %s)", ", now() - interval '1 day')"), (me, who))
    assert refused(rows, insert.replace(", %s)", ", now() + interval '1 day')"), (me, who))
    assert refused(
        rows,
        "insert into public.audit_events (actor_id, actor_role, action, created_at)"
        " values (%s, %s, 'x.y', now() - interval '1 day')",
        (me, who),
    )


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


def test_admin_cannot_invite_a_super_admin_but_a_super_admin_can(rows, act, refused, people):
    invite = "insert into public.admin_invites (email, role, token_hash, invited_by) values (%s, 'super_admin', %s, %s)"
    act("admin")
    assert refused(rows, invite, ("boss@example.test", b"\x0a", people.admin))
    assert refused(rows, "update public.admin_invites set role = 'super_admin'")
    act("super_admin")
    assert not refused(rows, invite, ("boss@example.test", b"\x0a", people.super_admin))


def test_an_email_has_at_most_one_pending_invite(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.admin_invites (email, role, token_hash, invited_by)"
            " values ('NEW.finance@example.test', 'finance', '\\x0b', %s)",
            ("00000000-0000-4000-8000-0000000a0001",),
        )


# admin_sessions: the service role writes them; admins read and revoke through a function ----


def test_admin_cannot_create_a_session_for_a_super_admin(rows, act, refused, people):
    act("admin")
    assert refused(
        rows,
        "insert into public.admin_sessions (user_id, session_token_hash, two_factor_verified, expires_at)"
        " values (%s, sha256('known-token'), true, now() + interval '30 days')",
        (people.super_admin,),
    )


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_can_neither_unrevoke_nor_edit_nor_delete_sessions(rows, act, refused, as_role, people, who):
    rows.execute(
        "update public.admin_sessions set revoked_at = now(), revoked_by = %s where id = %s",
        (people.super_admin, SESSION),
    )
    act(who)
    assert refused(rows, "update public.admin_sessions set revoked_at = null, revoked_by = null")
    assert refused(rows, "update public.admin_sessions set expires_at = now() + interval '1 year'")
    assert refused(rows, "delete from public.admin_sessions")
    as_role(rows, "service_role")
    assert rows.execute("select revoked_at is not null from public.admin_sessions").fetchall() == [(True,)]


def test_the_service_role_creates_and_revokes_sessions(rows, as_role, people):
    as_role(rows, "service_role")
    rows.execute(
        "insert into public.admin_sessions (user_id, session_token_hash, two_factor_verified, expires_at)"
        " values (%s, sha256('fresh-token'), true, now() + interval '8 hours')",
        (people.super_admin,),
    )
    assert rows.execute("update public.admin_sessions set revoked_at = now()").rowcount == 2


def new_session(conn, user: str) -> str:
    """A session of `user`, created as the trusted backend would."""
    return conn.execute(
        "insert into public.admin_sessions (user_id, session_token_hash, expires_at)"
        " values (%s, gen_random_bytes(16), now() + interval '1 hour') returning id::text",
        (user,),
    ).fetchone()[0]


def revoked_by(conn, as_role, session: str):
    as_role(conn, "service_role")
    return conn.execute(
        "select revoked_by::text from public.admin_sessions where id = %s and revoked_at is not null", (session,)
    ).fetchall()


@pytest.mark.parametrize("target", ["admin", "security"])
def test_admin_revokes_sessions_of_equal_or_lower_rank(rows, act, as_role, people, target):
    session = new_session(rows, getattr(people, target))
    act("admin")
    me = people.admin
    assert rows.execute("select public.revoke_admin_session(%s)", (session,)).fetchone() == (True,)
    assert revoked_by(rows, as_role, session) == [(me,)]


def test_admin_cannot_revoke_a_super_admins_session(rows, act, refused, as_role, people):
    session = new_session(rows, people.super_admin)
    act("admin")
    assert refused(rows, "select public.revoke_admin_session(%s)", (session,))
    assert revoked_by(rows, as_role, session) == []


@pytest.mark.parametrize("target", ["admin", "super_admin"])
def test_super_admin_revokes_any_session(rows, act, as_role, people, target):
    session = new_session(rows, getattr(people, target))
    act("super_admin")
    me = people.super_admin
    assert rows.execute("select public.revoke_admin_session(%s)", (session,)).fetchone() == (True,)
    assert revoked_by(rows, as_role, session) == [(me,)]


def test_revoking_a_revoked_session_keeps_the_first_revocation(rows, act, as_role, people):
    act("super_admin")
    rows.execute("select public.revoke_admin_session(%s)", (SESSION,))
    first = revoked_by(rows, as_role, SESSION)
    act("admin")
    assert rows.execute("select public.revoke_admin_session(%s)", (SESSION,)).fetchone() == (False,)
    assert revoked_by(rows, as_role, SESSION) == first == [(people.super_admin,)]


@pytest.mark.parametrize("who", ["security", "finance", "customer"])
def test_non_admins_cannot_revoke_sessions(rows, act, refused, as_role, who):
    act(who)
    assert refused(rows, "select public.revoke_admin_session(%s)", (SESSION,))
    assert revoked_by(rows, as_role, SESSION) == []


def test_anon_cannot_call_the_revoke_function(rows, refused, as_role):
    as_role(rows, "anon")
    assert refused(rows, "select public.revoke_admin_session(%s)", (SESSION,))


# secret_store ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "security", "finance", "marketing", "pricing_service", "customer"])
def test_nobody_but_a_super_admin_reads_or_changes_secrets(rows, act, who):
    act(who)
    assert rows.execute("select count(*) from public.secret_store").fetchone() == (0,)
    assert rows.execute("update public.secret_store set key_version = 2").rowcount == 0


def test_super_admin_reads_and_rotates_secrets(rows, act):
    act("super_admin")
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


def test_nobody_approves_their_own_settings_change(rows, act, people):
    act("admin")
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(
            "update public.settings_change_requests set status = 'approved', reviewed_by = %s, reviewed_at = now()",
            (people.admin,),
        )
    act("super_admin")
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


def test_admin_cannot_switch_off_approval_and_change_a_protected_setting(rows, act, refused):
    act("admin")
    assert refused(
        rows,
        "update public.system_settings set value = '\"EVIL2\"', requires_approval = false where key = %s",
        (PROTECTED_SETTING,),
    )
    assert refused(
        rows, "update public.system_settings set requires_approval = false where key = %s", (PROTECTED_SETTING,)
    )
    assert refused(rows, "update public.system_settings set requires_approval = true where key = %s", (OPEN_SETTING,))


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_nobody_changes_a_protected_settings_value_through_the_api(rows, act, refused, as_role, who):
    act(who)
    assert refused(rows, "update public.system_settings set value = '99' where key = %s", (PROTECTED_SETTING,))
    as_role(rows, "service_role")
    assert rows.execute("select value from public.system_settings where key = %s", (PROTECTED_SETTING,)).fetchone() == (
        14,
    )


def test_admin_cannot_delete_or_rename_a_protected_setting(rows, act, refused):
    act("admin")
    assert refused(rows, "delete from public.system_settings where key = %s", (PROTECTED_SETTING,))
    assert refused(rows, "update public.system_settings set key = 'x.y' where key = %s", (PROTECTED_SETTING,))
    assert refused(
        rows,
        "update public.system_settings set validation_endpoint = 'https://evil.example' where key = %s",
        (PROTECTED_SETTING,),
    )


def test_admins_keep_editing_unprotected_settings_and_protected_descriptions(rows, act):
    act("admin")
    assert rows.execute("update public.system_settings set value = '60' where key = %s", (OPEN_SETTING,)).rowcount == 1
    assert (
        rows.execute(
            "update public.system_settings set description = 'Days to refund' where key = %s", (PROTECTED_SETTING,)
        ).rowcount
        == 1
    )


def test_super_admin_decides_which_settings_need_approval(rows, act):
    act("super_admin")
    assert (
        rows.execute(
            "update public.system_settings set requires_approval = true where key = %s", (OPEN_SETTING,)
        ).rowcount
        == 1
    )
    assert (
        rows.execute(
            "update public.system_settings set requires_approval = false where key = %s", (PROTECTED_SETTING,)
        ).rowcount
        == 1
    )


def test_a_protected_setting_changes_by_request_approval_and_the_service_role(rows, act, as_role, people):
    act("admin")
    me = people.admin
    request = rows.execute(
        "insert into public.settings_change_requests (setting_key, proposed_value, requested_by)"
        " values (%s, '21', %s) returning id",
        (PROTECTED_SETTING, me),
    ).fetchone()[0]
    act("super_admin")
    reviewer = people.super_admin
    assert (
        rows.execute(
            "update public.settings_change_requests set status = 'approved', reviewed_by = %s, reviewed_at = now()"
            " where id = %s",
            (reviewer, request),
        ).rowcount
        == 1
    )
    as_role(rows, "service_role")
    rows.execute("update public.system_settings set value = '21' where key = %s", (PROTECTED_SETTING,))
    rows.execute(
        "update public.settings_change_requests set status = 'applied', applied_at = now() where id = %s", (request,)
    )
    assert rows.execute("select value from public.system_settings where key = %s", (PROTECTED_SETTING,)).fetchone() == (
        21,
    )


def test_admin_cannot_file_a_pre_approved_request_in_someone_elses_name(rows, act, refused, people):
    act("admin")
    me = people.admin
    insert = (
        "insert into public.settings_change_requests"
        " (setting_key, proposed_value, requested_by, reviewed_by, reviewed_at, status)"
        " values (%s, '\"EVIL\"', %s, %s, %s, %s)"
    )
    assert refused(rows, insert, (PROTECTED_SETTING, people.super_admin, me, "2025-11-11", "approved"))
    assert refused(rows, insert, (PROTECTED_SETTING, people.super_admin, None, None, "pending"))
    assert refused(rows, insert, (PROTECTED_SETTING, me, people.super_admin, "2025-11-11", "approved"))


def test_admin_cannot_rewrite_or_self_approve_a_request_by_updating_it(rows, act, refused, people):
    request = ROW_IDS["settings_change_requests"]  # pending, requested by Ada Admin
    act("admin")
    update = "update public.settings_change_requests set {} where id = %s"
    assert refused(rows, update.format("requested_by = %s"), (people.super_admin, request))
    assert refused(rows, update.format("proposed_value = '99'"), (request,))
    approve_as = update.format("status = 'approved', reviewed_by = %s, reviewed_at = now()")
    assert refused(rows, approve_as, (people.super_admin, request))
    assert refused(rows, update.format("status = 'applied', applied_at = now()"), (request,))
    # A second admin reviews it, as themselves, only while it is pending.
    act("super_admin")
    assert (
        rows.execute(
            update.format("status = 'rejected', reviewed_by = %s, reviewed_at = now()"), (people.super_admin, request)
        ).rowcount
        == 1
    )
    assert refused(rows, update.format("status = 'approved'"), (request,))


def test_an_admin_may_cancel_a_pending_request(rows, act):
    act("admin")
    assert rows.execute("update public.settings_change_requests set status = 'cancelled'").rowcount == 1


# Two-factor on users: the owner may switch it on; switching it off takes an admin ----


def test_customer_may_enable_their_own_two_factor(rows, act, people):
    act("customer")
    assert (
        rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.customer,)).rowcount
        == 1
    )
    enabled, enrolled = rows.execute(
        "select two_factor_enabled, two_factor_enrolled_at is not null from public.users where id = %s",
        (people.customer,),
    ).fetchone()
    assert (enabled, enrolled) == (True, True)


def test_customer_cannot_switch_off_their_own_two_factor_through_the_api(rows, act, refused, people):
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.customer,))
    act("customer")
    assert refused(rows, "update public.users set two_factor_enabled = false where id = %s", (people.customer,))
    assert refused(rows, "update public.users set two_factor_enrolled_at = null where id = %s", (people.customer,))


def test_customer_cannot_change_another_customers_two_factor(rows, act, as_role, people):
    act("customer")
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
def test_admins_may_switch_off_a_users_two_factor(rows, act, people, who):
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.customer,))
    act(who)
    assert (
        rows.execute("update public.users set two_factor_enabled = false where id = %s", (people.customer,)).rowcount
        == 1
    )


@pytest.mark.parametrize("target", ["super_admin", "admin", "security", "finance"])
def test_admin_cannot_switch_off_a_staff_members_two_factor(rows, act, refused, as_role, people, target):
    user = getattr(people, target)
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (user,))
    act("admin")
    assert refused(rows, "update public.users set two_factor_enabled = false where id = %s", (user,))
    assert refused(rows, "update public.users set two_factor_enrolled_at = null where id = %s", (user,))
    as_role(rows, "service_role")
    assert rows.execute(
        "select two_factor_enabled, two_factor_enrolled_at is not null from public.users where id = %s", (user,)
    ).fetchone() == (True, True)


@pytest.mark.parametrize("target", ["admin", "super_admin", "security"])
def test_super_admin_may_switch_off_a_staff_members_two_factor(rows, act, people, target):
    user = getattr(people, target)
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (user,))
    act("super_admin")
    assert (
        rows.execute(
            "update public.users set two_factor_enabled = false, two_factor_enrolled_at = null where id = %s", (user,)
        ).rowcount
        == 1
    )


def test_security_staff_cannot_switch_off_their_own_two_factor(rows, act, refused, people):
    rows.execute("update public.users set two_factor_enabled = true where id = %s", (people.security,))
    act("security")
    assert refused(rows, "update public.users set two_factor_enabled = false where id = %s", (people.security,))


# Existing rows when the migration runs ------------------------------------------------


def test_existing_users_and_settings_get_safe_defaults(empty_db, migrate_just_before):
    mine = migrate_just_before(VERSION, baseline=False)
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


# Decided in 20261205000300_phase3_last_open_questions ------------------------------

NEW_SETTING = (
    "insert into public.system_settings (key, value, requires_approval) values ('payments.max_refund', '500', %s)"
)


def test_an_admin_cannot_create_a_setting_that_requires_approval(rows, act, refused):
    with act("admin"):
        assert refused(rows, NEW_SETTING, (True,))
        assert rows.execute(NEW_SETTING, (False,)).rowcount == 1  # an ordinary setting still goes in
    assert rows.execute(
        "select requires_approval from public.system_settings where key = 'payments.max_refund'"
    ).fetchall() == [(False,)]


def test_a_super_admin_or_the_service_role_creates_a_setting_that_requires_approval(rows, act, as_role):
    with act("super_admin"):
        assert rows.execute(NEW_SETTING, (True,)).rowcount == 1
    with as_role(rows, "service_role"):
        assert rows.execute(NEW_SETTING.replace("max_refund", "min_refund"), (True,)).rowcount == 1
