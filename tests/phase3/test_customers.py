"""Customers and communications (20251111000400_phase3_customers): who sees and changes what."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations.runner import apply

TAG = "00000000-0000-4000-8000-0000000c7a01"
CORA_CONSENT = "00000000-0000-4000-8000-0000000c7e01"
CARL_CONSENT = "00000000-0000-4000-8000-0000000c7e02"
AUDIENCE = "00000000-0000-4000-8000-0000000c7f01"
NEW_TABLES = [
    "customer_tags",
    "customer_tag_members",
    "customer_notes",
    "customer_timeline_events",
    "customer_consent",
    "campaign_audiences",
]


# users: the guard on privileged columns ------------------------------------


def test_customer_cannot_change_own_role(rows, act, refused, people):
    act("customer")
    assert refused(rows, "update public.users set role = 'admin' where id = %s", (people.customer,))


@pytest.mark.parametrize(
    "assignment",
    ["account_manager_id = '00000000-0000-4000-8000-0000000a0001'", "risk_score = 1", "lifetime_value = 1000000"],
)
def test_customer_cannot_change_own_account_manager_risk_score_or_lifetime_value(
    rows, act, refused, people, assignment
):
    act("customer")
    assert refused(rows, f"update public.users set {assignment} where id = %s", (people.customer,))


def test_customer_cannot_change_another_users_account_manager(rows, act, changed, people):
    act("customer")
    assert (
        changed(
            rows,
            "update public.users set account_manager_id = %s where id = %s",
            (people.customer, people.other_customer),
        )
        == 0
    )


def test_customer_still_edits_own_profile_and_contact_method(rows, act, changed, people):
    act("customer")
    assert (
        changed(
            rows,
            "update public.users set full_name = 'Cora C.', preferred_contact_method = 'sms' where id = %s",
            (people.customer,),
        )
        == 1
    )


@pytest.mark.parametrize("who", ["marketing", "finance", "security"])
def test_other_staff_cannot_change_own_account_manager(rows, act, refused, people, who):
    act(who)
    assert refused(
        rows, "update public.users set account_manager_id = %s where id = %s", (people.admin, getattr(people, who))
    )


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_set_account_manager_and_risk_score(rows, act, changed, people, who):
    act(who)
    assert (
        changed(
            rows,
            "update public.users set account_manager_id = %s, risk_score = 12.5 where id = %s",
            (people.admin, people.customer),
        )
        == 1
    )
    assert rows.execute(
        "select account_manager_id::text, risk_score from public.users where id = %s", (people.customer,)
    ).fetchone() == (people.admin, 12.5)


def test_admin_still_cannot_change_roles_only_super_admin_can(rows, act, refused, changed, people):
    act("admin")
    assert refused(rows, "update public.users set role = 'finance' where id = %s", (people.customer,))
    act("super_admin")
    assert changed(rows, "update public.users set role = 'finance' where id = %s", (people.customer,)) == 1


def test_preferred_contact_method_is_checked(rows):
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute("update public.users set preferred_contact_method = 'pigeon'")


def test_account_manager_must_be_a_user(rows, people):
    with pytest.raises(psycopg.errors.ForeignKeyViolation), rows.transaction():
        rows.execute("update public.users set account_manager_id = gen_random_uuid() where id = %s", (people.customer,))


def test_named_indexes_exist(rows, index_defs):
    defs = index_defs(rows)
    assert "(account_manager_id)" in defs["users_account_manager_id_idx"]
    assert "(customer_id, occurred_at)" in defs["customer_timeline_events_customer_occurred_idx"]


# tags and members ------------------------------------------------------------


@pytest.mark.parametrize("table", ["customer_tags", "customer_tag_members"])
def test_admin_and_marketing_read_tags_customers_and_finance_do_not(rows, act, count, table):
    for who, expected in [("admin", 1), ("marketing", 1), ("customer", 0), ("finance", 0)]:
        act(who)
        assert count(rows, f"public.{table}") == expected, who


def test_admin_manages_tags_and_marketing_cannot(rows, act, refused, changed, people):
    act("admin")
    rows.execute("insert into public.customer_tags (name) values ('Event planner')")
    assert (
        changed(
            rows,
            "insert into public.customer_tag_members (tag_id, customer_id) values (%s, %s)",
            (TAG, people.other_customer),
        )
        == 1
    )
    act("marketing")
    assert refused(rows, "insert into public.customer_tags (name) values ('Whales')")
    assert changed(rows, "delete from public.customer_tag_members") == 0


def test_tag_names_are_unique_ignoring_case(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute("insert into public.customer_tags (name) values ('CONTRACTOR')")


def test_a_customer_has_a_tag_once(rows, people):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.customer_tag_members (tag_id, customer_id) values (%s, %s)", (TAG, people.customer)
        )


# notes and timeline: admins only ----------------------------------------------


@pytest.mark.parametrize("table", ["customer_notes", "customer_timeline_events"])
def test_notes_and_timeline_are_for_admins_only(rows, act, count, table):
    for who, expected in [("admin", 1), ("super_admin", 1), ("customer", 0), ("marketing", 0), ("finance", 0)]:
        act(who)
        assert count(rows, f"public.{table}") == expected, who


def test_customer_cannot_write_notes_or_timeline_events_about_themselves(rows, act, refused, people):
    act("customer")
    assert refused(rows, "insert into public.customer_notes (customer_id, body) values (%s, 'VIP')", (people.customer,))
    assert refused(
        rows,
        "insert into public.customer_timeline_events (customer_id, kind, summary) values (%s, 'note', 'x')",
        (people.customer,),
    )


def test_admin_writes_notes_and_timeline_events(rows, act, count, people):
    act("admin")
    rows.execute(
        "insert into public.customer_notes (customer_id, author_id, body) values (%s, %s, 'Called back')",
        (people.other_customer, people.admin),
    )
    rows.execute(
        "insert into public.customer_timeline_events (customer_id, kind, summary) values (%s, 'note', 'x')",
        (people.other_customer,),
    )
    assert (count(rows, "public.customer_notes"), count(rows, "public.customer_timeline_events")) == (2, 2)


# consent ---------------------------------------------------------------------


def test_customer_reads_only_own_consent(rows, act):
    act("customer")
    assert rows.execute("select id::text from public.customer_consent").fetchall() == [(CORA_CONSENT,)]


def test_customer_updates_own_consent_but_not_another_customers(rows, act, changed):
    act("customer")
    assert (
        changed(
            rows,
            "update public.customer_consent set status = 'withdrawn', withdrawn_at = now() where id = %s",
            (CORA_CONSENT,),
        )
        == 1
    )
    assert changed(rows, "update public.customer_consent set status = 'granted' where id = %s", (CARL_CONSENT,)) == 0


def test_customer_cannot_hand_own_consent_to_someone_else(rows, act, refused, people):
    act("customer")
    assert refused(
        rows, "update public.customer_consent set customer_id = %s where id = %s", (people.other_customer, CORA_CONSENT)
    )


def test_customer_cannot_insert_or_delete_consent(rows, act, refused, changed, people):
    act("customer")
    assert refused(
        rows,
        "insert into public.customer_consent (customer_id, channel, status) values (%s, 'sms', 'granted')",
        (people.customer,),
    )
    assert changed(rows, "delete from public.customer_consent where id = %s", (CORA_CONSENT,)) == 0


@pytest.mark.parametrize("who", ["admin", "super_admin", "marketing"])
def test_senders_read_every_customers_consent(rows, act, count, who):
    act(who)
    assert count(rows, "public.customer_consent") == 2


@pytest.mark.parametrize("who", ["finance", "security", "pricing_service"])
def test_non_senders_read_no_consent(rows, act, count, who):
    act(who)
    assert count(rows, "public.customer_consent") == 0


def test_marketing_cannot_change_consent_admin_can(rows, act, changed):
    act("marketing")
    assert changed(rows, "update public.customer_consent set status = 'granted' where id = %s", (CARL_CONSENT,)) == 0
    act("admin")
    assert changed(rows, "update public.customer_consent set status = 'granted' where id = %s", (CARL_CONSENT,)) == 1


def test_one_consent_per_customer_channel_and_purpose(rows, people):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.customer_consent (customer_id, channel, purpose) values (%s, 'email', 'marketing')",
            (people.customer,),
        )


# campaign audiences ------------------------------------------------------------


def test_marketing_manages_audiences(rows, act, count, changed):
    act("marketing")
    rows.execute("insert into public.campaign_audiences (name, channel) values ('Lift renters', 'sms')")
    assert changed(rows, "update public.campaign_audiences set status = 'active' where id = %s", (AUDIENCE,)) == 1
    assert changed(rows, "delete from public.campaign_audiences where name = 'Lift renters'") == 1
    assert count(rows, "public.campaign_audiences") == 1


def test_admin_reads_audiences_customers_and_finance_do_not(rows, act, count, refused):
    for who, expected in [("admin", 1), ("customer", 0), ("finance", 0), ("pricing_service", 0)]:
        act(who)
        assert count(rows, "public.campaign_audiences") == expected, who
    act("customer")
    assert refused(rows, "insert into public.campaign_audiences (name) values ('Me')")


# anon ------------------------------------------------------------------------


@pytest.mark.parametrize("table", NEW_TABLES)
def test_anon_reads_and_writes_nothing(rows, count, refused, as_role, table):
    assert count(rows, f"public.{table}") > 0
    as_role(rows, "anon")
    assert refused(rows, f"select count(*) from public.{table}")  # granted nothing: refused before RLS is read
    assert refused(rows, f"insert into public.{table} default values")


# backfill --------------------------------------------------------------------


def test_lifetime_value_is_backfilled_from_succeeded_payments(empty_db, migrate_just_before, people):
    mine = migrate_just_before("20251111000400")
    empty_db.execute(  # a second succeeded payment for Cora, and a refunded one that must not count
        """insert into public.payments (booking_id, customer_id, amount, method, status) values
             ('00000000-0000-4000-8000-00000000b001', %(c)s, 60.00, 'cash', 'succeeded'),
             ('00000000-0000-4000-8000-00000000b001', %(c)s, 999.00, 'card', 'refunded')""",
        {"c": people.customer},
    )
    apply(empty_db, mine)
    values = "select id::text, lifetime_value from public.users where id in (%s, %s) order by id"
    expected = sorted([(people.customer, 600), (people.other_customer, 0)])
    assert empty_db.execute(values, (people.customer, people.other_customer)).fetchall() == expected
    with empty_db.transaction():
        empty_db.execute(mine.text)
    assert empty_db.execute(values, (people.customer, people.other_customer)).fetchall() == expected
