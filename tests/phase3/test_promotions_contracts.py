"""Promotions and contracts (20251111000700_phase3_promotions_contracts): who sees and changes what."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations.runner import apply

RULE = "00000000-0000-4000-8000-00000009a001"
CORA_REDEMPTION = "00000000-0000-4000-8000-00000009a401"
CORA_CONTRACT = "00000000-0000-4000-8000-0000000c0c01"
PROMO_TABLES = [
    "promo_rules",
    "promo_rule_conditions",
    "promo_rule_actions",
    "promo_rule_segments",
    "promo_redemptions",
    "promo_analytics_daily",
]
PRICING_READS = PROMO_TABLES[:5]
CONTRACT_TABLES = ["contract_template_versions", "contract_signers", "contract_reminders", "contract_events"]


def redeem(conn: psycopg.Connection, customer: str, status: str = "redeemed") -> None:
    conn.execute(
        "insert into public.promo_redemptions (rule_id, customer_id, status) values (%s, %s, %s)",
        (RULE, customer, status),
    )


def test_named_indexes_exist(rows, index_defs):
    defs = index_defs(rows)
    assert "(status, starts_at, ends_at)" in defs["promo_rules_status_period_idx"]
    assert "(contract_id, occurred_at)" in defs["contract_events_contract_occurred_idx"]
    assert "(template_version_id)" in defs["contracts_template_version_id_idx"]


# promotions: who reads and writes ---------------------------------------------


@pytest.mark.parametrize("table", PROMO_TABLES)
@pytest.mark.parametrize("who", ["admin", "super_admin", "marketing"])
def test_admins_and_marketing_read_every_promotion_table(rows, act, count, who, table):
    act(who)
    assert count(rows, f"public.{table}") > 0


@pytest.mark.parametrize("who", ["admin", "marketing"])
def test_admins_and_marketing_create_edit_and_delete_promotions(rows, act, count, changed, people, who):
    act(who)
    rule = rows.execute(
        "insert into public.promo_rules (code, name) values ('SPRING5', 'Spring') returning id"
    ).fetchone()[0]
    rows.execute("insert into public.promo_rule_conditions (rule_id, kind, value) values (%s, 'weekday', '6')", (rule,))
    rows.execute("insert into public.promo_rule_actions (rule_id, kind) values (%s, 'free_delivery')", (rule,))
    rows.execute("insert into public.promo_rule_segments (rule_id, segment) values (%s, 'new_customers')", (rule,))
    rows.execute("insert into public.promo_redemptions (rule_id, customer_id) values (%s, %s)", (rule, people.customer))
    rows.execute("insert into public.promo_analytics_daily (rule_id, day) values (%s, '2025-10-01')", (rule,))
    assert changed(rows, "update public.promo_rules set status = 'active' where id = %s", (rule,)) == 1
    assert changed(rows, "delete from public.promo_redemptions where rule_id = %s", (rule,)) == 1
    assert changed(rows, "delete from public.promo_rules where id = %s", (rule,)) == 1
    assert [count(rows, f"public.{t}") for t in PROMO_TABLES] == [1, 1, 1, 1, 2, 1]


@pytest.mark.parametrize("table", PRICING_READS)
def test_pricing_service_reads_promotions_but_cannot_change_them(rows, act, count, refused, changed, table):
    act("pricing_service")
    assert count(rows, f"public.{table}") > 0
    assert changed(rows, f"update public.{table} set id = id") == 0
    assert changed(rows, f"delete from public.{table}") == 0
    assert refused(rows, f"insert into public.{table} default values")


def test_pricing_service_does_not_read_analytics(rows, act, count):
    act("pricing_service")
    assert count(rows, "public.promo_analytics_daily") == 0


@pytest.mark.parametrize("table", [t for t in PROMO_TABLES if t != "promo_redemptions"])
@pytest.mark.parametrize("who", ["customer", "finance", "security"])
def test_customers_and_other_staff_read_no_promotions(rows, act, count, who, table):
    act(who)
    assert count(rows, f"public.{table}") == 0


def test_customer_reads_only_own_redemptions(rows, act):
    act("customer")
    assert rows.execute("select id::text from public.promo_redemptions").fetchall() == [(CORA_REDEMPTION,)]


def test_customer_cannot_redeem_or_edit_redemptions(rows, act, refused, changed, people):
    act("customer")
    assert refused(
        rows, "insert into public.promo_redemptions (rule_id, customer_id) values (%s, %s)", (RULE, people.customer)
    )
    assert (
        changed(rows, "update public.promo_redemptions set discount_amount = 500 where id = %s", (CORA_REDEMPTION,))
        == 0
    )


@pytest.mark.parametrize("table", [*PROMO_TABLES, *CONTRACT_TABLES])
def test_anon_reads_and_writes_nothing(rows, count, refused, as_role, table):
    assert count(rows, f"public.{table}") > 0
    as_role(rows, "anon")
    assert refused(rows, f"select count(*) from public.{table}")  # granted nothing: refused before RLS is read
    assert refused(rows, f"insert into public.{table} default values")


# promotions: rules the data must follow ---------------------------------------


def test_max_redemptions_is_respected(rows, people):
    rows.execute("update public.promo_rules set max_redemptions = 3 where id = %s", (RULE,))
    redeem(rows, people.customer)  # 3 of 3
    with pytest.raises(psycopg.errors.CheckViolation, match="max_redemptions"), rows.transaction():
        redeem(rows, people.other_customer)


def test_max_redemptions_applies_to_marketing_too(rows, act, people):
    rows.execute("update public.promo_rules set max_redemptions = 2 where id = %s", (RULE,))
    act("marketing")
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        redeem(rows, people.customer)


def test_a_reversed_redemption_frees_its_slot_and_cannot_come_back_when_full(rows, people):
    rows.execute("update public.promo_rules set max_redemptions = 2 where id = %s", (RULE,))
    rows.execute("update public.promo_redemptions set status = 'reversed' where id = %s", (CORA_REDEMPTION,))
    redeem(rows, people.customer)  # takes the freed slot
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute("update public.promo_redemptions set status = 'redeemed' where id = %s", (CORA_REDEMPTION,))


def test_a_rule_without_max_redemptions_has_no_cap(rows, count, people):
    rows.execute("update public.promo_rules set max_redemptions = null where id = %s", (RULE,))
    for _ in range(3):
        redeem(rows, people.customer)
    assert count(rows, "public.promo_redemptions") == 5


@pytest.mark.parametrize(
    "statement",
    [
        "update public.promo_rules set ends_at = starts_at - interval '1 day'",
        "update public.promo_rules set max_redemptions = 0",
        "update public.promo_rules set code = 'lower case'",
        "insert into public.promo_rule_actions (rule_id, kind) values ('00000000-0000-4000-8000-00000009a001',"
        " 'percent_off')",
        "insert into public.promo_rule_segments (rule_id, segment) values ('00000000-0000-4000-8000-00000009a001',"
        " 'customer_tag')",
    ],
    ids=["period", "max_redemptions", "code", "action_without_value", "tag_segment_without_tag"],
)
def test_promotion_checks(rows, statement):
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(statement)


def test_promo_codes_are_unique(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute("insert into public.promo_rules (code, name) values ('AUTUMN10', 'Copy')")


# contracts -------------------------------------------------------------------


@pytest.mark.parametrize("table", CONTRACT_TABLES)
def test_contract_tables_are_for_admins_only(rows, act, count, table):
    for who, expected in [("admin", 1), ("super_admin", 1), ("customer", 0), ("marketing", 0), ("finance", 0)]:
        act(who)
        assert count(rows, f"public.{table}") == expected, who


def test_admin_records_contract_events_customer_cannot(rows, act, refused, changed, people):
    act("admin")
    rows.execute(
        "insert into public.contract_events (contract_id, event_type, actor_id) values (%s, 'viewed', %s)",
        (CORA_CONTRACT, people.admin),
    )
    act("customer")
    assert refused(
        rows, "insert into public.contract_events (contract_id, event_type) values (%s, 'signed')", (CORA_CONTRACT,)
    )
    assert changed(rows, "update public.contract_signers set status = 'declined', signed_at = null") == 0


def test_customers_still_read_their_own_contracts_only(rows, act, count):
    act("customer")
    assert rows.execute("select id::text from public.contracts").fetchall() == [(CORA_CONTRACT,)]
    act("other_customer")
    assert count(rows, "public.contracts") == 0


def test_a_template_has_each_version_once(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.contract_template_versions (template_id, version, body)"
            " values ('00000000-0000-4000-8000-0000000c7002', 1, 'again')"
        )


def test_current_version_must_exist(rows):
    with pytest.raises(psycopg.errors.ForeignKeyViolation), rows.transaction():
        rows.execute(
            "update public.contract_templates set current_version = 2 where id = '00000000-0000-4000-8000-0000000c7002'"
        )


def test_a_signer_is_on_a_contract_once(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.contract_signers (contract_id, full_name, email)"
            " values (%s, 'Cora', 'CORA.customer@example.test')",
            (CORA_CONTRACT,),
        )


# backfill --------------------------------------------------------------------


def test_existing_templates_get_version_1_and_existing_contracts_point_at_it(empty_db, migrate_just_before):
    mine = migrate_just_before("20251111000700")
    empty_db.execute(
        """insert into public.contract_templates (id, name, body) values
             ('00000000-0000-4000-8000-0000000c7009', 'Delivery terms', 'We deliver ...');
           insert into public.contracts (id, booking_id, customer_id, template_id) values
             ('00000000-0000-4000-8000-0000000c0c09', '00000000-0000-4000-8000-00000000b002',
              '00000000-0000-4000-8000-0000000c0002', '00000000-0000-4000-8000-0000000c7009')"""
    )
    apply(empty_db, mine)
    state = """select t.name, t.current_version, t.category, v.version, v.body = t.body,
                      (select count(*) from public.contracts c where c.template_version_id = v.id)
                 from public.contract_templates t join public.contract_template_versions v on v.template_id = t.id
                order by t.name"""
    expected = [("Delivery terms", 1, "rental", 1, True, 1), ("Standard rental", 1, "rental", 1, True, 1)]
    assert empty_db.execute(state).fetchall() == expected
    with empty_db.transaction():
        empty_db.execute(mine.text)
    assert empty_db.execute(state).fetchall() == expected
