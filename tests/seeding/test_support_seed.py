"""The support seeder: ticket threads with their recipients, templates, insurance activity and reminders."""

from __future__ import annotations

import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.support import SupportSeeder
from phase3test.seeding.phase3.users import UsersSeeder

SEEDERS = plan([UsersSeeder(), BaselineSeeder(), SupportSeeder()])
TABLES = (
    "public.support_messages",
    "public.support_message_recipients",
    "public.support_templates",
    "public.insurance_activity",
    "public.insurance_reminders",
)
STAFF = "('admin', 'super_admin')"

# name -> (violations, rows considered): each check must look at rows to pass.
INVARIANTS = {
    "SLA due dates are not created_at plus the priority's targets": (
        """select count(*) from public.support_tickets t left join public.support_sla s on s.priority = t.priority
            where s.id is null
               or t.first_response_due_at is distinct from t.created_at + s.first_response_within
               or t.resolution_due_at is distinct from t.created_at + s.resolution_within
               or t.first_response_due_at <= t.created_at or t.resolution_due_at < t.first_response_due_at""",
        "select count(*) from public.support_tickets",
    ),
    "support_sla is not the migration's four priorities": (
        """select count(*) filter (where (priority, first_response_within, resolution_within) not in (
                   ('urgent', interval '1 hour', interval '4 hours'),
                   ('high', interval '4 hours', interval '24 hours'),
                   ('normal', interval '24 hours', interval '72 hours'),
                   ('low', interval '72 hours', interval '7 days')))
                 + abs(count(*) - 4)
             from public.support_sla""",
        "select count(*) from public.support_sla",
    ),
    "message before its ticket was opened, or in the future": (
        """select count(*) from public.support_messages m join public.support_tickets t on t.id = m.ticket_id
            where m.created_at <= t.created_at or m.created_at > %(now)s""",
        "select count(*) from public.support_messages",
    ),
    "author neither the ticket's customer nor staff, or a customer's internal note": (
        """select count(*) from public.support_messages m
             join public.support_tickets t on t.id = m.ticket_id join public.users u on u.id = m.author_id
            where not (m.author_id = t.customer_id or u.role in """
        + STAFF
        + """)
               or (m.is_internal and u.role not in """
        + STAFF
        + """)""",
        "select count(*) from public.support_messages",
    ),
    "recipient is the author, or a customer gets an internal note": (
        """select count(*) from public.support_message_recipients r
             join public.support_messages m on m.id = r.message_id join public.users u on u.id = r.recipient_id
            where r.recipient_id = m.author_id or (m.is_internal and u.role not in """
        + STAFF
        + """)""",
        "select count(*) from public.support_message_recipients",
    ),
    "delivery times out of order or not matching the status": (
        """select count(*) from public.support_message_recipients r
             join public.support_messages m on m.id = r.message_id
            where r.created_at <> m.created_at or r.sent_at < r.created_at or r.read_at < r.sent_at
               or r.read_at > %(now)s or r.sent_at > %(now)s
               or (r.status in ('pending', 'failed')) <> (r.sent_at is null)
               or (r.status = 'read') <> (r.read_at is not null)""",
        "select count(*) from public.support_message_recipients where read_at is not null",
    ),
    "insurance activity before the upload, in the future, or by the wrong person": (
        """select count(*) from public.insurance_activity a
             join public.insurance_documents d on d.id = a.insurance_document_id
             left join public.users u on u.id = a.actor_id
            where a.created_at < d.created_at
               or (a.created_at > %(now)s and a.action <> 'uploaded')
               or (a.action in ('uploaded', 'info_provided') and a.actor_id is distinct from d.customer_id)
               or (a.action in ('info_requested', 'approved', 'rejected', 'note') and u.role not in """
        + STAFF
        + """)
               or (a.action = 'reminder_sent' and a.actor_id is not null)""",
        "select count(*) from public.insurance_activity where action <> 'uploaded'",
    ),
    "document without exactly one upload at its creation, or a review that disagrees with its status": (
        """select count(*) from public.insurance_documents d
            where (select count(*) from public.insurance_activity a where a.insurance_document_id = d.id
                     and a.action = 'uploaded' and a.created_at = d.created_at) <> 1
               or (d.status in ('approved', 'rejected') and d.created_at < %(now)s
                   and not exists (select from public.insurance_activity a
                                    where a.insurance_document_id = d.id and a.action = d.status))""",
        "select count(*) from public.insurance_documents",
    ),
    "reminder scheduled before it was made, sent before due, or due and still scheduled": (
        """select count(*) from public.insurance_reminders
            where scheduled_for <= created_at
               or (status = 'sent' and (sent_at < scheduled_for or sent_at > %(now)s))
               or (status = 'scheduled' and (scheduled_for <= %(now)s or sent_at is not null))""",
        "select count(*) from public.insurance_reminders",
    ),
    "sent reminder without its reminder_sent activity": (
        """select count(*) from public.insurance_reminders r where r.status = 'sent'
              and not exists (select from public.insurance_activity a
                               where a.insurance_document_id = r.insurance_document_id
                                 and a.action = 'reminder_sent' and a.created_at = r.sent_at)""",
        "select count(*) from public.insurance_reminders where status = 'sent'",
    ),
}


def test_seeding_at_scale_1_and_5_fills_every_table(fresh_db):
    counts = {}
    for scale in (1, 5):
        with fresh_db.transaction(force_rollback=True):
            report = seed(fresh_db, SEEDERS, seed=1, scale=scale)
            counts[scale] = {t: fresh_db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
            sla = fresh_db.execute("select count(*) from public.support_sla").fetchone()[0]
        assert report.results[-1].name == "support"
        assert report.results[-1].tables == counts[scale]
        assert sla == 4, "support_sla is the migration's: the seeder adds nothing to it"
    assert all(counts[1].values()), counts[1]
    assert all(counts[5][table] > counts[1][table] for table in TABLES), counts


@pytest.mark.parametrize("scale", [1, 5])
def test_business_invariants_hold(fresh_db, run_checks, scale):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=scale + 70, scale=scale)
        results = run_checks(fresh_db, INVARIANTS)
    assert {name: v for name, (v, _) in results.items() if v} == {}
    assert {name: n for name, (_, n) in results.items() if not n} == {}, "a check looked at no rows"


def test_a_violation_is_caught(fresh_db, run_checks):
    """The checks can fail: the SLA trigger's dates, a message's time and a recipient, each broken once."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=3, scale=1)
        fresh_db.execute(
            "update public.support_tickets set first_response_due_at = created_at - interval '1 minute'"
            " where id = (select id from public.support_tickets order by id limit 1)"
        )
        fresh_db.execute(
            "update public.support_messages m set created_at = t.created_at - interval '1 hour'"
            " from public.support_tickets t"
            " where t.id = m.ticket_id and m.id = (select id from public.support_messages order by id limit 1)"
        )
        fresh_db.execute(
            "update public.support_message_recipients r set recipient_id = m.author_id from public.support_messages m"
            " where m.id = r.message_id"
            " and r.id = (select id from public.support_message_recipients order by id limit 1)"
        )
        broken = {name for name, (v, _) in run_checks(fresh_db, INVARIANTS).items() if v}
    assert {
        "SLA due dates are not created_at plus the priority's targets",
        "message before its ticket was opened, or in the future",
        "recipient is the author, or a customer gets an internal note",
    } <= broken


def test_a_new_ticket_gets_its_due_dates_from_its_priority(fresh_db):
    """The trigger, not the seeder, sets the due dates: a ticket inserted without them gets them."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=4, scale=1)
        due = fresh_db.execute(
            """insert into public.support_tickets (customer_id, subject, body, priority, created_at)
               select customer_id, 'x', 'y', 'high', %(now)s from public.support_tickets limit 1
               returning first_response_due_at - created_at, resolution_due_at - created_at""",
            {"now": REFERENCE_TIME},
        ).fetchone()
    assert [d.total_seconds() / 3600 for d in due] == [4, 24]
