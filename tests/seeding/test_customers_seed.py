"""The customers seeder: tags and members, notes, consent, campaign audiences and the customer timeline."""

from __future__ import annotations

import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.model import SeedContext
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.customers import CustomersSeeder
from phase3test.seeding.phase3.users import UsersSeeder

SEEDERS = plan([UsersSeeder(), BaselineSeeder(), CustomersSeeder()])
TABLES = (
    "public.customer_tags",
    "public.customer_tag_members",
    "public.customer_notes",
    "public.customer_timeline_events",
    "public.customer_consent",
    "public.campaign_audiences",
)
STAFF = "('admin', 'super_admin')"

# name -> (violations, rows considered): each check must look at rows to pass.
INVARIANTS = {
    "tag member added before the tag or the customer existed, in the future, or not a customer": (
        """select count(*) from public.customer_tag_members m
             join public.customer_tags t on t.id = m.tag_id join public.users u on u.id = m.customer_id
            where m.created_at < t.created_at or m.created_at < u.created_at or m.created_at > %(now)s
               or u.role <> 'customer'""",
        "select count(*) from public.customer_tag_members",
    ),
    "tag not made by an admin, or dates out of order": (
        """select count(*) from public.customer_tags t join public.users u on u.id = t.created_by
            where u.role not in """
        + STAFF
        + """ or t.created_at < u.created_at or t.updated_at < t.created_at or t.updated_at > %(now)s""",
        "select count(*) from public.customer_tags",
    ),
    "audience not made by marketing, before its tag, or dates out of order": (
        """select count(*) from public.campaign_audiences a join public.users u on u.id = a.created_by
             left join public.customer_tags t on t.id = a.customer_tag_id
            where u.role <> 'marketing' or a.created_at < t.created_at or a.created_at < u.created_at
               or a.updated_at < a.created_at or a.updated_at > %(now)s
               or a.criteria ->> 'consent_purpose' is distinct from 'marketing'""",
        "select count(*) from public.campaign_audiences where customer_tag_id is not null",
    ),
    "note by a non-admin, before the customer joined, or dates out of order": (
        """select count(*) from public.customer_notes n
             join public.users c on c.id = n.customer_id join public.users a on a.id = n.author_id
            where a.role not in """
        + STAFF
        + """ or c.role <> 'customer' or n.created_at < c.created_at
               or n.updated_at < n.created_at or n.updated_at > %(now)s""",
        "select count(*) from public.customer_notes",
    ),
    "consent dates disagree with its status": (
        """select count(*) from public.customer_consent c join public.users u on u.id = c.customer_id
            where (c.status = 'granted' and (c.granted_at is null or c.withdrawn_at is not null))
               or (c.status = 'withdrawn' and c.withdrawn_at is not null
                   and (c.granted_at is null or c.withdrawn_at <= c.granted_at))
               or (c.status = 'withdrawn' and c.withdrawn_at is null and c.granted_at is not null)
               or c.created_at < u.created_at or c.created_at > coalesce(c.granted_at, c.created_at)
               or c.updated_at <> greatest(c.created_at, c.granted_at, c.withdrawn_at) or c.updated_at > %(now)s""",
        "select count(*) from public.customer_consent where withdrawn_at is not null",
    ),
    "customer without granted service e-mail consent": (
        """select count(*) from public.users u where u.role = 'customer'
              and not exists (select from public.customer_consent c where c.customer_id = u.id
                               and c.channel = 'email' and c.purpose = 'service' and c.status = 'granted')""",
        "select count(*) from public.users where role = 'customer'",
    ),
    "timeline event in the future, before the customer joined, or recorded at another time": (
        """select count(*) from public.customer_timeline_events e join public.users u on u.id = e.customer_id
            where e.occurred_at > %(now)s or e.occurred_at < u.created_at or e.created_at <> e.occurred_at
               or u.role <> 'customer'""",
        "select count(*) from public.customer_timeline_events",
    ),
    "booking event of another customer, before the booking was made, or at odds with its status": (
        """select count(*) from public.customer_timeline_events e
             left join public.bookings b on b.id = (e.details ->> 'booking_id')::uuid
            where e.kind = 'booking'
              and (b.id is null or b.customer_id <> e.customer_id or e.occurred_at <= b.created_at
                   or not case e.summary
                            when 'Rental started'
                              then b.status in ('active', 'completed') and e.occurred_at = b.starts_at
                            when 'Rental completed' then b.status = 'completed' and e.occurred_at = b.ends_at
                            when 'Booking cancelled' then b.status = 'cancelled' and e.occurred_at < b.starts_at
                            else false end)""",
        "select count(*) from public.customer_timeline_events where kind = 'booking'",
    ),
    "payment event that does not add up the booking's payments": (
        """select count(*) from public.customer_timeline_events e
             left join public.bookings b on b.id = (e.details ->> 'booking_id')::uuid
            where e.kind = 'payment'
              and (b.id is null or b.customer_id <> e.customer_id or e.occurred_at <= b.created_at
                   or (e.details ->> 'amount')::numeric is distinct from (
                        select sum(p.amount) from public.payments p
                         where p.booking_id = b.id
                           and p.status = case when b.status = 'cancelled' then 'refunded' else 'succeeded' end
                           and p.id::text in (select jsonb_array_elements_text(e.details -> 'payment_ids')))
                   or (b.status <> 'cancelled' and (e.details ->> 'amount')::numeric <> b.total_amount))""",
        "select count(*) from public.customer_timeline_events where kind = 'payment'",
    ),
    "campaign reached someone outside its tag, without marketing consent, or before it existed": (
        """select count(*) from public.customer_timeline_events e
             left join public.campaign_audiences a on a.id = (e.details ->> 'audience_id')::uuid
            where e.kind = 'campaign'
              and (a.id is null or a.status <> 'active' or e.occurred_at < a.created_at
                   or a.channel <> e.details ->> 'channel'
                   or not exists (select from public.customer_tag_members m where m.tag_id = a.customer_tag_id
                                    and m.customer_id = e.customer_id and m.created_at <= e.occurred_at)
                   or not exists (select from public.customer_consent c where c.customer_id = e.customer_id
                                    and c.channel = a.channel and c.purpose = 'marketing'
                                    and c.status = 'granted' and c.granted_at <= e.occurred_at))""",
        "select count(*) from public.customer_timeline_events where kind = 'campaign'",
    ),
    "a note, tagging or consent change without its timeline event": (
        """select (select count(*) from public.customer_notes n where not exists (
                     select from public.customer_timeline_events e where e.kind = 'note'
                        and e.customer_id = n.customer_id and e.details ->> 'note_id' = n.id::text
                        and e.occurred_at = n.created_at and e.actor_id = n.author_id))
                 + (select count(*) from public.customer_tag_members m where not exists (
                     select from public.customer_timeline_events e where e.kind = 'account'
                        and e.customer_id = m.customer_id and e.details ->> 'tag_id' = m.tag_id::text
                        and e.occurred_at = m.created_at and e.actor_id = m.added_by))
                 + (select count(*) from public.customer_consent c, unnest(array[c.granted_at, c.withdrawn_at]) at
                     where at is not null and not exists (
                     select from public.customer_timeline_events e where e.kind = 'consent'
                        and e.customer_id = c.customer_id and e.occurred_at = at
                        and e.details ->> 'channel' = c.channel and e.details ->> 'purpose' = c.purpose))""",
        """select (select count(*) from public.customer_notes) * (select count(*) from public.customer_tag_members)
                  * (select count(*) from public.customer_consent)""",
    ),
}


def test_seeding_at_scale_1_and_5_fills_every_table(fresh_db):
    counts = {}
    for scale in (1, 5):
        with fresh_db.transaction(force_rollback=True):
            report = seed(fresh_db, SEEDERS, seed=1, scale=scale)
            counts[scale] = {t: fresh_db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
        assert report.results[-1].name == "customers"
        assert report.results[-1].tables == counts[scale]
    assert all(counts[1].values()), counts[1]
    assert all(counts[5][table] > counts[1][table] for table in TABLES), counts


@pytest.mark.parametrize("scale", [1, 5])
def test_business_invariants_hold(fresh_db, run_checks, scale):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=scale + 40, scale=scale)
        results = run_checks(fresh_db, INVARIANTS)
        kinds = {k for (k,) in fresh_db.execute("select distinct kind from public.customer_timeline_events")}
    assert {name: v for name, (v, _) in results.items() if v} == {}
    assert {name: n for name, (_, n) in results.items() if not n} == {}, "a check looked at no rows"
    assert kinds == {"booking", "payment", "note", "consent", "campaign", "account"}


def test_a_violation_is_caught(fresh_db, run_checks):
    """The checks can fail: a member tagged before the tag existed, consent granted and withdrawn, a stray campaign."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=3, scale=1)
        fresh_db.execute(
            "update public.customer_tag_members m set created_at = t.created_at - interval '1 day'"
            " from public.customer_tags t"
            " where t.id = m.tag_id and m.id = (select id from public.customer_tag_members order by id limit 1)"
        )
        fresh_db.execute(
            "update public.customer_consent set withdrawn_at = %(now)s"
            " where id = (select id from public.customer_consent where status = 'granted' order by id limit 1)",
            {"now": REFERENCE_TIME},
        )
        fresh_db.execute(
            "update public.customer_timeline_events set customer_id = ("
            "   select id from public.users where role = 'customer' order by id limit 1)"
            " where id = (select id from public.customer_timeline_events where kind = 'booking' order by id limit 1)"
        )
        broken = {name for name, (v, _) in run_checks(fresh_db, INVARIANTS).items() if v}
    assert {
        "tag member added before the tag or the customer existed, in the future, or not a customer",
        "consent dates disagree with its status",
        "booking event of another customer, before the booking was made, or at odds with its status",
    } <= broken


def test_shares_its_tags_and_their_members_for_the_promotions():
    shared: dict = {}
    rows = {}
    for seeder in SEEDERS:
        for batch in seeder.generate(SeedContext(5, seeder.name, 2, shared)):
            rows[batch.table] = [dict(zip(batch.columns, row, strict=True)) for row in batch.rows]
    assert shared["customer_tags"] == [t["id"] for t in rows["public.customer_tags"]]
    members: dict = {tag: [] for tag in shared["customer_tags"]}
    for member in rows["public.customer_tag_members"]:
        members[member["tag_id"]].append(member["customer_id"])
    assert shared["customer_tag_members"] == members
    assert any(members.values())
