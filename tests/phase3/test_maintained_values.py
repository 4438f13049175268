"""Values that stay true after their backfill (20261205000400_phase3_maintained_values).

Each value is checked against a recomputation from the base tables written here, independently of the
migration's own functions, after a few hundred random writes; the same writes with the migration's trigger
dropped must leave drift behind, or the check proves nothing.
"""

from __future__ import annotations

import random
import re
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

BOOKINGS = ["00000000-0000-4000-8000-00000000b001", "00000000-0000-4000-8000-00000000b002"]
CURRENCIES = ["USD", "EUR"]
PAYMENT_STATUSES = ["pending", "succeeded", "failed", "refunded"]
PRIORITIES = ["low", "normal", "high", "urgent"]
TICKET_STATUSES = ["open", "pending", "resolved", "closed"]
SEEDS = [1, 2, 3]

# Users whose lifetime value differs from the sum of their succeeded payments in its currency.
LIFETIME_DRIFT = """
select u.id::text from public.users u
 where u.lifetime_value <> coalesce((select sum(p.amount) from public.payments p
                                      where p.customer_id = u.id and p.status = 'succeeded'
                                        and p.currency = u.lifetime_value_currency), 0)"""

# Tickets whose due dates are not created_at plus their priority's SLA, or, open or pending, whose breach
# flag disagrees with their resolution date (after the scheduled run).
SLA_DRIFT = """
select t.id::text from public.support_tickets t join public.support_sla s on s.priority = t.priority
 where t.first_response_due_at <> t.created_at + s.first_response_within
    or t.resolution_due_at <> t.created_at + s.resolution_within
    or (t.status in ('open', 'pending') and t.sla_breached <> (t.resolution_due_at < now()))"""


def customers(conn: psycopg.Connection) -> list[str]:
    return [str(u) for (u,) in conn.execute("select id from public.users order by id")]


def write_payments_at_random(conn: psycopg.Connection, seed: int, writes: int = 300) -> None:
    """Inserts, updates of every column the sum depends on, deletes, and users changing currency."""
    pick = random.Random(seed)
    people = customers(conn)
    payments: list[str] = []  # the ones written here: nothing else refers to them, so they can go
    for _ in range(writes):
        action = pick.choice(["insert", "insert", "status", "amount", "currency", "customer", "delete", "user"])
        if action == "insert" or not payments:
            cursor = conn.execute(
                "insert into public.payments (booking_id, customer_id, amount, currency, method, status)"
                " values (%s, %s, %s, %s, 'card', %s) returning id::text",
                (
                    pick.choice(BOOKINGS),
                    pick.choice(people),
                    Decimal(pick.randint(1, 50000)) / 100,
                    pick.choice(CURRENCIES),
                    pick.choice(PAYMENT_STATUSES),
                ),
            )
            payments.append(cursor.fetchone()[0])
        elif action == "user":
            conn.execute(
                "update public.users set lifetime_value_currency = %s where id = %s",
                (pick.choice(CURRENCIES), pick.choice(people)),
            )
        elif action == "delete":
            conn.execute("delete from public.payments where id = %s", (payments.pop(pick.randrange(len(payments))),))
        else:
            value = {
                "status": pick.choice(PAYMENT_STATUSES),
                "amount": Decimal(pick.randint(1, 50000)) / 100,
                "currency": pick.choice(CURRENCIES),
                "customer": pick.choice(people),
            }[action]
            column = "customer_id" if action == "customer" else action
            conn.execute(f"update public.payments set {column} = %s where id = %s", (value, pick.choice(payments)))


def write_tickets_at_random(conn: psycopg.Connection, seed: int, writes: int = 300) -> None:
    """Tickets opened days ago at any priority, re-prioritised, resolved, reopened and deleted."""
    pick = random.Random(seed)
    people = customers(conn)
    tickets: list[str] = []
    for _ in range(writes):
        action = pick.choice(["insert", "priority", "priority", "status", "delete"])
        if action == "insert" or not tickets:
            cursor = conn.execute(
                "insert into public.support_tickets (customer_id, subject, body, priority, created_at)"
                " values (%s, 'Broken', 'It broke', %s, now() - make_interval(hours => %s)) returning id::text",
                (pick.choice(people), pick.choice(PRIORITIES), pick.randint(0, 24 * 10)),
            )
            tickets.append(cursor.fetchone()[0])
        elif action == "delete":
            conn.execute(
                "delete from public.support_tickets where id = %s", (tickets.pop(pick.randrange(len(tickets))),)
            )
        else:
            column, value = ("priority", pick.choice(PRIORITIES))
            if action == "status":
                column, value = ("status", pick.choice(TICKET_STATUSES))
            conn.execute(
                f"update public.support_tickets set {column} = %s where id = %s", (value, pick.choice(tickets))
            )
    conn.execute("select private.mark_sla_breaches()")


def drift(conn: psycopg.Connection, query: str) -> list[str]:
    return [row for (row,) in conn.execute(query)]


# Lifetime value ------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_lifetime_values_match_a_recomputation_after_random_payment_writes(rows, seed):
    write_payments_at_random(rows, seed)
    assert drift(rows, LIFETIME_DRIFT) == []
    assert rows.execute("select count(*) from public.users where lifetime_value > 0").fetchone()[0] > 0


def test_without_the_payments_trigger_the_recomputation_finds_drift(rows):
    rows.execute("drop trigger payments_recompute_lifetime_values on public.payments")
    write_payments_at_random(rows, SEEDS[0])
    assert drift(rows, LIFETIME_DRIFT) != []


def test_without_the_currency_trigger_the_recomputation_finds_drift(rows, people):
    rows.execute("drop trigger users_recompute_lifetime_value on public.users")
    rows.execute("update public.users set lifetime_value_currency = 'EUR' where id = %s", (people.customer,))
    assert drift(rows, LIFETIME_DRIFT) == [people.customer]  # Cora's 540 USD are no euros


def test_a_payment_an_admin_records_through_the_api_counts_at_once(rows, act, people):
    before = rows.execute("select lifetime_value from public.users where id = %s", (people.other_customer,)).fetchone()
    with act("admin"):
        rows.execute(
            "insert into public.payments (booking_id, customer_id, amount, method, status)"
            " values (%s, %s, 95.50, 'card', 'succeeded')",
            (BOOKINGS[1], people.other_customer),
        )
    after = rows.execute("select lifetime_value from public.users where id = %s", (people.other_customer,)).fetchone()
    assert after[0] - before[0] == Decimal("95.50")


def test_a_refund_takes_the_payment_out_of_the_value(rows, people):
    rows.execute("update public.payments set status = 'refunded' where customer_id = %s", (people.customer,))
    assert rows.execute("select lifetime_value from public.users where id = %s", (people.customer,)).fetchone() == (0,)


@pytest.mark.parametrize("who", ["admin", "super_admin", "service_role"])
def test_nobody_sets_a_lifetime_value_by_hand_through_the_api(rows, act, refused, people, who):
    act(who)
    assert refused(rows, "update public.users set lifetime_value = 1000000 where id = %s", (people.customer,))


def test_an_admin_switching_a_users_currency_gets_the_value_in_it(rows, act, people):
    rows.execute(
        "insert into public.payments (booking_id, customer_id, amount, currency, method, status)"
        " values (%s, %s, 70, 'EUR', 'cash', 'succeeded')",
        (BOOKINGS[0], people.customer),
    )
    with act("admin"):
        rows.execute("update public.users set lifetime_value_currency = 'EUR' where id = %s", (people.customer,))
    assert rows.execute("select lifetime_value from public.users where id = %s", (people.customer,)).fetchone() == (70,)


# SLA due dates -------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_sla_due_dates_match_a_recomputation_after_random_ticket_writes(rows, seed):
    write_tickets_at_random(rows, seed)
    assert drift(rows, SLA_DRIFT) == []
    breached, total = rows.execute(
        "select count(*) filter (where sla_breached), count(*) from public.support_tickets"
    ).fetchone()
    assert 0 < breached < total  # the writes left both kinds to judge


def test_without_the_priority_trigger_the_recomputation_finds_drift(rows):
    rows.execute("drop trigger support_tickets_follow_priority on public.support_tickets")
    write_tickets_at_random(rows, SEEDS[0])
    assert drift(rows, SLA_DRIFT) != []


def test_without_the_scheduled_run_the_clocks_breaches_are_missed(rows, people):
    rows.execute(
        "insert into public.support_tickets (customer_id, subject, body, priority, created_at)"
        " values (%s, 'Late', 'Still waiting', 'urgent', now() - interval '30 days')",
        (people.customer,),
    )
    assert drift(rows, SLA_DRIFT) != []
    assert rows.execute("select private.mark_sla_breaches()").fetchone()[0] >= 1
    assert drift(rows, SLA_DRIFT) == []


def test_an_admin_escalating_a_ticket_brings_its_due_dates_forward(rows, act, people):
    ticket = rows.execute(
        "insert into public.support_tickets (customer_id, subject, body, priority) values (%s, 'Leak', 'Oil', 'low')"
        " returning id, resolution_due_at",
        (people.customer,),
    ).fetchone()
    with act("admin"):
        rows.execute("update public.support_tickets set priority = 'urgent' where id = %s", (ticket[0],))
    due = rows.execute(
        "select t.resolution_due_at, t.created_at + s.resolution_within from public.support_tickets t"
        " join public.support_sla s on s.priority = 'urgent' where t.id = %s",
        (ticket[0],),
    ).fetchone()
    assert due[0] == due[1] < ticket[1]


@pytest.mark.parametrize("who", ["customer", "admin"])
def test_only_the_scheduler_marks_breaches(rows, act, as_role, refused, people, who):
    rows.execute(
        "insert into public.support_tickets (customer_id, subject, body, priority, created_at)"
        " values (%s, 'Late', 'Still waiting', 'urgent', now() - interval '30 days')",
        (people.customer,),
    )
    with act(who):
        assert refused(rows, "select private.mark_sla_breaches()")
    with as_role(rows, "service_role"):
        assert rows.execute("select private.mark_sla_breaches()").fetchone() == (1,)


def test_the_runbooks_repair_mends_values_written_with_triggers_off(rows):
    """docs/runbook.md's recomputation, run as written, after payment writes that skipped the triggers."""
    runbook = (Path(__file__).parents[2] / "docs" / "runbook.md").read_text()
    (repair,) = [block for block in re.findall(r"```sql\n(.*?)```", runbook, re.S) if "lifetime_value_of" in block]
    rows.execute("set session_replication_role = replica")
    write_payments_at_random(rows, SEEDS[1])
    rows.execute("set session_replication_role = origin")
    assert drift(rows, LIFETIME_DRIFT) != []
    rows.execute(repair)
    assert drift(rows, LIFETIME_DRIFT) == []
