"""The promotions and contracts seeder: rules and their redemptions and analytics, contract paperwork."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.customers import CustomersSeeder
from phase3test.seeding.phase3.promotions_contracts import (
    PromotionsContractsSeeder,
)
from phase3test.seeding.phase3.users import UsersSeeder

SEEDERS = plan([UsersSeeder(), BaselineSeeder(), CustomersSeeder(), PromotionsContractsSeeder()])
TABLES = (
    "public.promo_rules",
    "public.promo_rule_conditions",
    "public.promo_rule_actions",
    "public.promo_rule_segments",
    "public.promo_redemptions",
    "public.promo_analytics_daily",
    "public.contract_template_versions",
    "public.contract_events",
    "public.contract_signers",
    "public.contract_reminders",
)
STAFF = "('admin', 'super_admin')"
PARAMS = {"now": REFERENCE_TIME, "today": REFERENCE_TIME.date()}
EARLIER = """exists (select from public.bookings o where o.customer_id = b.customer_id and o.starts_at < b.starts_at)"""

# name -> (violations, rows considered): each check must look at rows to pass.
INVARIANTS = {
    "rule with more live redemptions than its max_redemptions": (
        """select count(*) from public.promo_rules r
            where r.max_redemptions < (select count(*) from public.promo_redemptions x
                                        where x.rule_id = r.id and x.status = 'redeemed')""",
        """select count(*) from public.promo_redemptions x join public.promo_rules r on r.id = x.rule_id
            where x.status = 'redeemed' and r.max_redemptions is not null""",
    ),
    "rule dates out of order, or status at odds with its period": (
        """select count(*) from public.promo_rules r join public.users u on u.id = r.created_by
            where u.role not in ('admin', 'marketing') or r.created_at < u.created_at
               or r.created_at > r.starts_at or r.updated_at < r.created_at or r.updated_at > %(now)s
               or (r.status = 'expired' and not r.ends_at <= %(now)s)
               or (r.status in ('active', 'paused') and r.ends_at <= %(now)s)
               or (r.status = 'draft' and r.starts_at <= %(now)s)""",
        "select count(*) from public.promo_rules",
    ),
    "rule without an action or a segment": (
        """select count(*) from public.promo_rules r
            where not exists (select from public.promo_rule_actions a where a.rule_id = r.id)
               or (select count(*) from public.promo_rule_segments s where s.rule_id = r.id) <> 1""",
        "select count(*) from public.promo_rules",
    ),
    "redemption of another customer, outside the booking's making, or at odds with the booking's status": (
        """select count(*) from public.promo_redemptions x left join public.bookings b on b.id = x.booking_id
            where b.id is null or b.customer_id <> x.customer_id
               or x.redeemed_at < b.created_at or x.redeemed_at > b.starts_at or x.redeemed_at > %(now)s
               or (x.status = 'redeemed') <> (b.status in ('active', 'completed'))
               or (x.status = 'reversed') <> (b.status = 'cancelled')
               or x.discount_amount <= 0 or x.discount_amount > b.total_amount""",
        "select count(*) from public.promo_redemptions",
    ),
    "booking with more than one promotion": (
        """select count(*) from (select booking_id from public.promo_redemptions
                                  group by booking_id having count(*) > 1) twice""",
        "select count(distinct booking_id) from public.promo_redemptions",
    ),
    "redeemed outside the rule's period, or a draft redeemed": (
        """select count(*) from public.promo_redemptions x join public.promo_rules r on r.id = x.rule_id
            where x.redeemed_at < r.starts_at or x.redeemed_at >= r.ends_at or r.status = 'draft'""",
        "select count(*) from public.promo_redemptions",
    ),
    "booking that does not meet a condition of the rule it redeemed": (
        """select count(*) from public.promo_redemptions x join public.bookings b on b.id = x.booking_id
             join public.promo_rule_conditions c on c.rule_id = x.rule_id
            where not case c.kind
                    when 'min_booking_total' then b.total_amount >= (c.value #>> '{}')::numeric
                    when 'min_rental_days'
                      then b.ends_at - b.starts_at >= make_interval(days => (c.value #>> '{}')::int)
                    when 'equipment' then c.value ? b.equipment_id::text
                    when 'weekday'
                      then c.value @> to_jsonb(extract(isodow from b.starts_at at time zone 'UTC')::int)
                    when 'first_booking' then (not """
        + EARLIER
        + """) = (c.value #>> '{}')::boolean
                    else false end""",
        "select count(*) from public.promo_redemptions x join public.promo_rule_conditions c on c.rule_id = x.rule_id",
    ),
    "customer outside the segment of the rule they redeemed": (
        """select count(*) from public.promo_redemptions x join public.bookings b on b.id = x.booking_id
             join public.promo_rule_segments s on s.rule_id = x.rule_id
            where not case s.segment
                    when 'all_customers' then true
                    when 'new_customers' then not """
        + EARLIER
        + """
                    when 'returning_customers' then """
        + EARLIER
        + """
                    when 'customer_tag' then exists (select from public.customer_tag_members m
                                                      where m.tag_id = s.customer_tag_id
                                                        and m.customer_id = x.customer_id)
                    end""",
        """select count(*) from public.promo_redemptions x join public.promo_rule_segments s on s.rule_id = x.rule_id
            where s.segment <> 'all_customers'""",
    ),
    "daily analytics that do not add up that day's live redemptions": (
        """with live as (
             select x.rule_id, (x.redeemed_at at time zone 'UTC')::date as day, count(*) as n,
                    sum(x.discount_amount) as discount, sum(b.total_amount - x.discount_amount) as revenue
               from public.promo_redemptions x join public.bookings b on b.id = x.booking_id
              where x.status = 'redeemed' group by 1, 2)
           select count(*) from public.promo_analytics_daily a
             full join live l on l.rule_id = a.rule_id and l.day = a.day
            where (a.id is null and l.day < %(today)s)
               or (a.id is not null and (a.redemptions <> coalesce(l.n, 0)
                                         or a.discount_total <> coalesce(l.discount, 0)
                                         or a.booking_revenue <> coalesce(l.revenue, 0)))""",
        "select count(*) from public.promo_analytics_daily where redemptions > 0",
    ),
    "analytics for a draft, outside the rule's period, or for a day not over": (
        """select count(*) from public.promo_analytics_daily a join public.promo_rules r on r.id = a.rule_id
            where r.status = 'draft' or a.day < (r.starts_at at time zone 'UTC')::date
               or a.day > (r.ends_at at time zone 'UTC')::date or a.day >= %(today)s
               or a.updated_at < a.day + 1 or a.updated_at > %(now)s or a.impressions < a.redemptions""",
        "select count(*) from public.promo_analytics_daily",
    ),
    "template without a published version 1 of its body, or published after its first contract": (
        """select count(*) from public.contract_templates t
             left join public.contract_template_versions v on v.template_id = t.id and v.version = 1
            where v.id is null or v.body <> t.body or v.published_at is null or v.published_at < t.created_at
               or v.published_at > (select min(c.created_at) from public.contracts c where c.template_id = t.id)""",
        "select count(*) from public.contract_templates",
    ),
    "contract without exactly one customer signer who is its customer, by name and e-mail": (
        """select count(*) from public.contracts c
            where (select count(*) from public.contract_signers s join public.users u on u.id = s.user_id
                    where s.contract_id = c.id and s.signer_role = 'customer' and s.user_id = c.customer_id
                      and s.email = u.email and s.full_name = u.full_name and s.signing_order = 1) <> 1
               or (select count(*) from public.contract_signers s
                    where s.contract_id = c.id and s.signer_role = 'customer') <> 1""",
        "select count(*) from public.contracts",
    ),
    "signer at odds with the contract's status, or a company signer who is not staff": (
        """select count(*) from public.contract_signers s join public.contracts c on c.id = s.contract_id
             left join public.users u on u.id = s.user_id
            where (c.status = 'signed' and (s.status <> 'signed' or s.signed_at <> c.signed_at))
               or (c.status <> 'signed' and s.status = 'signed')
               or s.created_at <> c.created_at
               or (s.signer_role = 'company' and (u.role not in """
        + STAFF
        + """ or s.email <> u.email or s.full_name <> u.full_name))""",
        "select count(*) from public.contract_signers where signer_role <> 'customer'",
    ),
    "contract without its created event, or a sent one without its sent event": (
        """select count(*) from public.contracts c
            where (select count(*) from public.contract_events e where e.contract_id = c.id
                    and e.event_type = 'created' and e.occurred_at = c.created_at) <> 1
               or (c.status = 'sent' and (select count(*) from public.contract_events e where e.contract_id = c.id
                    and e.event_type = 'sent' and e.occurred_at > c.created_at) <> 1)""",
        "select count(*) from public.contracts",
    ),
    "event before its contract, a view or reminder in the future, or a signer of another contract": (
        """select count(*) from public.contract_events e join public.contracts c on c.id = e.contract_id
             left join public.contract_signers s on s.id = e.signer_id
            where e.occurred_at < c.created_at
               or (e.event_type in ('viewed', 'signed', 'reminded') and e.occurred_at > %(now)s)
               or (e.signer_id is not null and s.contract_id <> e.contract_id)
               or (e.event_type in ('viewed', 'signed') and e.actor_id is distinct from s.user_id)""",
        "select count(*) from public.contract_events where signer_id is not null",
    ),
    "signer status without its event": (
        """select count(*) from public.contract_signers s
            where (s.status = 'signed') <> exists (select from public.contract_events e where e.signer_id = s.id
                                                     and e.event_type = 'signed' and e.occurred_at = s.signed_at)
               or (s.status = 'viewed') <> exists (select from public.contract_events e
                                                     where e.signer_id = s.id and e.event_type = 'viewed')""",
        "select count(*) from public.contract_signers where status in ('signed', 'viewed')",
    ),
    "reminder to a signed or another contract's signer, late, or at odds with its status": (
        """select count(*) from public.contract_reminders r join public.contracts c on c.id = r.contract_id
             join public.contract_signers s on s.id = r.signer_id join public.bookings b on b.id = c.booking_id
            where s.contract_id <> r.contract_id or s.status = 'signed' or c.status <> 'sent'
               or r.scheduled_for <= r.created_at or r.created_at < c.created_at or r.scheduled_for >= b.starts_at
               or (r.status = 'scheduled') <> (r.scheduled_for > %(now)s)
               or (r.status = 'sent') <> (r.sent_at is not null)
               or r.sent_at < r.scheduled_for or r.sent_at > %(now)s
               or (r.status = 'sent') <> exists (select from public.contract_events e where e.signer_id = s.id
                                                   and e.event_type = 'reminded' and e.occurred_at = r.sent_at)""",
        "select count(*) from public.contract_reminders where status = 'sent'",
    ),
}


def test_seeding_at_scale_1_and_5_fills_every_table(fresh_db):
    counts = {}
    for scale in (1, 5):
        with fresh_db.transaction(force_rollback=True):
            report = seed(fresh_db, SEEDERS, seed=1, scale=scale)
            counts[scale] = {t: fresh_db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
        assert report.results[-1].name == "promotions_contracts"
        assert report.results[-1].tables == counts[scale]
    assert all(counts[1].values()), counts[1]
    grows = [t for t in TABLES if t != "public.contract_template_versions"]  # one per baseline template
    assert all(counts[5][table] > counts[1][table] for table in grows), counts


@pytest.mark.parametrize("scale", [1, 5])
def test_business_invariants_hold(fresh_db, run_checks, scale):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=scale + 50, scale=scale)
        results = run_checks(fresh_db, INVARIANTS, PARAMS)
    assert {name: v for name, (v, _) in results.items() if v} == {}
    assert {name: n for name, (_, n) in results.items() if not n} == {}, "a check looked at no rows"


def test_a_violation_is_caught(fresh_db, run_checks):
    """The checks can fail: a redemption past its rule's end, a condition unmet, a signer's stray signature."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=3, scale=1)
        fresh_db.execute(
            "update public.promo_rules r set ends_at = x.redeemed_at from public.promo_redemptions x"
            " where x.rule_id = r.id and x.id = (select id from public.promo_redemptions order by id limit 1)"
        )
        fresh_db.execute(
            "insert into public.promo_rule_conditions (rule_id, kind, operator, value)"
            " select rule_id, 'min_booking_total', 'gte', '1000000' from public.promo_redemptions"
            " order by id desc limit 1"
        )
        fresh_db.execute(
            "update public.contract_signers set signed_at = signed_at + interval '1 minute'"
            " where id = (select id from public.contract_signers where status = 'signed' order by id limit 1)"
        )
        broken = {name for name, (v, _) in run_checks(fresh_db, INVARIANTS, PARAMS).items() if v}
    assert {
        "redeemed outside the rule's period, or a draft redeemed",
        "booking that does not meet a condition of the rule it redeemed",
        "signer at odds with the contract's status, or a company signer who is not staff",
        "signer status without its event",
    } <= broken


def test_the_trigger_keeps_every_capped_rule_at_its_max_redemptions(fresh_db, run_checks):
    """Fill a capped rule up to its cap: one more live redemption is refused, a reversed one is not."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=5, scale=5)
        rule, cap, used = fresh_db.execute(
            """select r.id, r.max_redemptions, count(x.id) filter (where x.status = 'redeemed')
                 from public.promo_rules r left join public.promo_redemptions x on x.rule_id = r.id
                where r.max_redemptions is not null group by r.id order by count(x.id) desc, r.id limit 1"""
        ).fetchone()
        assert 0 < used <= cap
        customer = fresh_db.execute("select id from public.users where role = 'customer' order by id limit 1")
        customer = customer.fetchone()[0]
        insert = (
            "insert into public.promo_redemptions (rule_id, customer_id, status, redeemed_at) values (%s, %s, %s, %s)"
        )
        for _ in range(cap - used):
            fresh_db.execute(insert, (rule, customer, "redeemed", REFERENCE_TIME))
        with pytest.raises(psycopg.errors.CheckViolation, match="max_redemptions"), fresh_db.transaction():
            fresh_db.execute(insert, (rule, customer, "redeemed", REFERENCE_TIME))
        fresh_db.execute(insert, (rule, customer, "reversed", REFERENCE_TIME))
        results = run_checks(fresh_db, INVARIANTS, PARAMS)
    assert results["rule with more live redemptions than its max_redemptions"][0] == 0
