"""The payments seeder: it loads, fills every table of its domain, keeps its business rules and is deterministic."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.payments import PaymentsSeeder
from phase3test.seeding.phase3.users import UsersSeeder

SEEDERS = plan([UsersSeeder(), BaselineSeeder(), PaymentsSeeder()])
TABLES = PaymentsSeeder.tables

# Each query returns (violations, rows considered); %(now)s is the reference time.
INVARIANTS = {
    "balance_due or billing_status disagrees with the succeeded payments": """
        select count(*) filter (where b.balance_due <> b.total_amount - x.paid
                                   or b.billing_status <> case when x.paid >= b.total_amount then 'paid'
                                                               when x.paid > 0 then 'partially_paid'
                                                               else 'unpaid' end),
               count(*)
          from public.bookings b
          cross join lateral (select coalesce(sum(p.amount), 0) as paid from public.payments p
                               where p.booking_id = b.id and p.status = 'succeeded') x""",
    "applied manual payment that is not the succeeded payment it was entered as": """
        select count(*) filter (where p.id is null or p.status <> 'succeeded' or p.booking_id <> m.booking_id
                                   or p.customer_id <> m.customer_id or p.amount <> m.amount
                                   or p.method <> m.method or p.paid_at <> m.received_at),
               count(*)
          from public.manual_payments m left join public.payments p on p.id = m.payment_id
         where m.status = 'applied'""",
    "manual payment of another customer, by a non-staff user, out of time or over the total": """
        select count(*) filter (where m.customer_id <> b.customer_id
                                   or u.role not in ('finance', 'admin', 'super_admin')
                                   or not (m.received_at <= m.created_at and m.created_at <= m.updated_at
                                           and m.updated_at <= %(now)s)
                                   or m.received_at < b.created_at
                                   or (m.status = 'recorded' and b.status <> 'pending')
                                   or (select sum(o.amount) from public.manual_payments o
                                        where o.booking_id = m.booking_id and o.status <> 'voided') > b.total_amount),
               count(*)
          from public.manual_payments m
          join public.bookings b on b.id = m.booking_id
          join public.users u on u.id = m.created_by""",
    "booking whose instalments do not add up to its total and balance due": """
        select count(*) filter (where x.planned <> b.total_amount or x.open <> b.balance_due
                                   or x.numbers <> x.instalments or x.paid <> x.payments
                                   or x.customers <> 1 or x.customer <> b.customer_id),
               count(*)
          from public.bookings b
          join (select i.booking_id,
                       sum(i.amount) filter (where i.status <> 'cancelled') as planned,
                       coalesce(sum(i.amount) filter (where i.status in ('scheduled', 'overdue')), 0) as open,
                       max(i.installment_number) as numbers, count(*) as instalments,
                       count(distinct i.payment_id) as paid,
                       (select count(*) from public.payments p
                         where p.booking_id = i.booking_id and p.status = 'succeeded') as payments,
                       count(distinct i.customer_id) as customers, min(i.customer_id::text)::uuid as customer
                  from public.installment_schedules i group by i.booking_id) x on x.booking_id = b.id""",
    "instalment whose payment, due date or times disagree with its status": """
        select count(*) filter (where (i.status = 'paid') <> (i.payment_id is not null)
                                   or p.status <> 'succeeded' or p.booking_id <> i.booking_id
                                   or p.amount <> i.amount or p.paid_at <> i.paid_at
                                   or (i.status = 'overdue') <> (i.status in ('scheduled', 'overdue')
                                                                 and i.due_date < (%(now)s at time zone 'UTC')::date)
                                   or (i.status <> 'paid' and i.due_date >= (b.starts_at at time zone 'UTC')::date)
                                   or i.created_at < b.created_at or i.updated_at < i.created_at
                                   or i.updated_at > %(now)s),
               count(*)
          from public.installment_schedules i
          join public.bookings b on b.id = i.booking_id
          left join public.payments p on p.id = i.payment_id""",
    "payout whose amounts are not those of its day's payments, or whose status disagrees": """
        select count(*) filter (where r.expected_amount <> x.total or r.payment_count <> x.n
                                   or r.payout_date <> x.day + case r.provider when 'stripe' then 2 else 1 end
                                   or (r.status = 'matched') <> (r.difference = 0 and r.status <> 'pending')
                                   or (r.status in ('discrepancy', 'resolved') and r.difference >= 0)
                                   or (r.status in ('matched', 'resolved'))
                                      <> (r.reconciled_by is not null and r.reconciled_at is not null)
                                   or u.role <> 'finance' or r.reconciled_at < r.created_at
                                   or r.reconciled_at > %(now)s or r.created_at > %(now)s),
               count(*)
          from public.payout_reconciliations r
          left join public.users u on u.id = r.reconciled_by
          cross join lateral (
                select coalesce(sum(p.amount), 0) as total, count(*) as n,
                       min((p.paid_at at time zone 'UTC')::date) as day
                  from public.payments p
                 where p.status = 'succeeded'
                   and p.method = case r.provider when 'stripe' then 'card' else 'bank_transfer' end
                   and case r.provider when 'stripe' then 'po_' else 'bank_' end
                       || to_char(p.paid_at at time zone 'UTC', 'YYYYMMDD') = r.payout_id) x""",
    "export whose row count is not that of its rows in its period": """
        select count(*) filter (where e.row_count is distinct from case e.export_type
                   when 'payments' then (select count(*) from public.payments p
                                          where (p.created_at at time zone 'UTC')::date
                                                between e.period_start and e.period_end)
                   when 'ledger' then (select count(*) from public.financial_ledger l
                                        where l.effective_date between e.period_start and e.period_end)
                   when 'payouts' then (select count(*) from public.payout_reconciliations r
                                         where r.payout_date between e.period_start and e.period_end)
                   when 'installments' then (select count(*) from public.installment_schedules i
                                              where i.due_date between e.period_start and e.period_end)
                   else (select count(*) from public.manual_payments m
                          where (m.received_at at time zone 'UTC')::date between e.period_start and e.period_end)
                 end), count(*)
          from public.financial_exports e where e.status = 'completed'""",
    "export requested by a non-staff user or whose times disagree with its status": """
        select count(*) filter (where u.role not in ('finance', 'admin', 'super_admin')
                                   or e.created_at > %(now)s or e.completed_at < e.created_at
                                   or e.completed_at > %(now)s
                                   or (e.status = 'completed') <> (e.completed_at is not null)
                                   or (e.status = 'failed') <> (e.error_message is not null)
                                   or (e.status = 'completed'
                                       and e.period_end >= (e.created_at at time zone 'UTC')::date)),
               count(*)
          from public.financial_exports e join public.users u on u.id = e.requested_by""",
    "ledger transaction that does not balance": """
        select count(*) filter (where debits <> credits), count(*)
          from (select transaction_id, currency,
                       sum(amount) filter (where entry_type = 'debit') as debits,
                       sum(amount) filter (where entry_type = 'credit') as credits
                  from public.financial_ledger group by transaction_id, currency) x""",
    "booking whose ledger does not balance, or whose receivable is not its balance due": """
        select count(*) filter (where x.debits <> x.credits
                                   or x.receivable <> case when b.status = 'cancelled' then 0 else b.balance_due end),
               count(*)
          from public.bookings b
          join (select booking_id,
                       sum(amount) filter (where entry_type = 'debit') as debits,
                       sum(amount) filter (where entry_type = 'credit') as credits,
                       coalesce(sum(case entry_type when 'debit' then amount else -amount end)
                                  filter (where account = 'accounts_receivable'), 0) as receivable
                  from public.financial_ledger where booking_id is not null group by booking_id) x
            on x.booking_id = b.id""",
    "ledger entry of another booking's payment, by a non-finance user, or out of time": """
        select count(*) filter (where p.booking_id <> l.booking_id or u.role <> 'finance'
                                   or l.effective_date <> (l.created_at at time zone 'UTC')::date
                                   or l.created_at > %(now)s or l.currency <> 'USD'),
               count(*)
          from public.financial_ledger l
          join public.users u on u.id = l.created_by
          left join public.payments p on p.id = l.payment_id""",
    "card clearing account not holding exactly the card payments not paid out yet": """
        select count(*) filter (where clearing <> unpaid_out), count(*)
          from (select (select coalesce(sum(case entry_type when 'debit' then amount else -amount end), 0)
                          from public.financial_ledger where account = 'cash.stripe_clearing') as clearing,
                       (select coalesce(sum(p.amount), 0) from public.payments p
                         where p.method = 'card' and p.status = 'succeeded' and p.paid_at <= %(now)s
                           and not exists (select from public.payout_reconciliations r
                                            where r.provider = 'stripe'
                                              and r.payout_id = 'po_' || to_char(p.paid_at at time zone 'UTC',
                                                                                 'YYYYMMDD'))) as unpaid_out) x""",
}


@pytest.mark.parametrize("scale", [1, 5])
def test_seeds_every_table_and_keeps_the_business_rules(fresh_db, scale):
    with fresh_db.transaction(force_rollback=True):
        report = seed(fresh_db, SEEDERS, seed=scale, scale=scale)
        fresh_db.execute("set constraints all immediate")  # the ledger's balance check, deferred to commit
        results = {
            name: fresh_db.execute(query, {"now": REFERENCE_TIME}).fetchone() for name, query in INVARIANTS.items()
        }
        statuses = dict(
            fresh_db.execute(
                "select 'installment_schedules', array_agg(distinct status order by status)"
                " from public.installment_schedules"
                " union all select 'manual_payments', array_agg(distinct status order by status)"
                " from public.manual_payments"
                " union all select 'payout_reconciliations', array_agg(distinct status order by status)"
                " from public.payout_reconciliations"
            ).fetchall()
        )
    filled = report.results[-1].tables
    assert report.results[-1].name == "payments"
    assert set(filled) == set(TABLES) and all(filled[table] > 0 for table in TABLES), filled
    assert {name: considered for name, (_, considered) in results.items() if not considered} == {}
    assert {name: violations for name, (violations, _) in results.items() if violations} == {}
    assert {"paid", "scheduled"} <= set(statuses["installment_schedules"])
    assert {"applied", "voided"} <= set(statuses["manual_payments"])
    assert {"matched", "pending"} <= set(statuses["payout_reconciliations"])


def test_the_ledger_balance_check_fires_in_these_tests(fresh_db):
    """`set constraints all immediate` runs the deferred check, so a rolled-back seeding is really checked."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=1, scale=1)
        fresh_db.execute(
            "insert into public.financial_ledger (transaction_id, account, entry_type, amount, created_by)"
            " select transaction_id, 'cash.bank', 'debit', 1, created_by from public.financial_ledger limit 1"
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
            fresh_db.execute("set constraints all immediate")
