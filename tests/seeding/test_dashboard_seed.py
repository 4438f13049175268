"""The dashboard seeder: alerts, saved filters and exports that agree with the bookings and with themselves."""

from __future__ import annotations

import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.dashboard import DashboardSeeder
from phase3test.seeding.phase3.users import UsersSeeder

TABLES = DashboardSeeder.tables


def seeders():
    return plan([UsersSeeder(), BaselineSeeder(), DashboardSeeder()])


INVARIANTS = {
    "alert lifecycle disagrees with its status": """
        select count(*) filter (where not coalesce(
                 case status
                   when 'open' then acknowledged_at is null and resolved_at is null
                   when 'acknowledged' then acknowledged_at is not null and resolved_at is null
                   else resolved_at is not null end
                 and (acknowledged_by is null) = (acknowledged_at is null)
                 and (resolved_by is null) = (resolved_at is null)
                 and created_at <= coalesce(acknowledged_at, created_at)
                 and coalesce(acknowledged_at, created_at) <= coalesce(resolved_at, 'infinity')
                 and updated_at = greatest(created_at, acknowledged_at, resolved_at)
                 and updated_at <= %(ref)s, false)),
               count(*)
          from public.alerts""",
    "alert acknowledged or resolved by someone not an admin": """
        select count(*) filter (where u.role not in ('admin', 'super_admin')), count(*)
          from public.alerts a join public.users u on u.id in (a.acknowledged_by, a.resolved_by)""",
    "two open alerts of one kind on one subject": """
        select count(*) filter (where n > 1), count(*)
          from (select kind, coalesce(booking_id, payment_id, equipment_id), count(*) as n
                  from public.alerts
                 where status in ('open', 'acknowledged')
                   and coalesce(booking_id, payment_id, equipment_id) is not null
                 group by 1, 2) open_alerts""",
    "open payment or return alert on a booking that is no longer a candidate": """
        select count(*) filter (where not case a.kind
                 when 'payment_overdue' then b.status in ('confirmed', 'active')
                      and b.starts_at < %(ref)s + interval '2 days'
                      and not exists (select 1 from public.payments p
                                       where p.booking_id = b.id and p.status = 'succeeded')
                 else b.status = 'active' and b.ends_at < %(ref)s end),
               count(*)
          from public.alerts a join public.bookings b on b.id = a.booking_id
         where a.kind in ('payment_overdue', 'overdue_return') and a.status in ('open', 'acknowledged')""",
    "candidate at the reference time without an open alert": """
        select count(*) filter (where not exists (
                 select 1 from public.alerts a
                  where a.booking_id = b.id and a.kind = 'payment_overdue' and a.status in ('open', 'acknowledged'))),
               count(*)
          from public.bookings b
         where b.status in ('confirmed', 'active') and b.starts_at < %(ref)s + interval '2 days'
           and not exists (select 1 from public.payments p where p.booking_id = b.id and p.status = 'succeeded')""",
    "alert older than its booking or machine": """
        select count(*) filter (where a.created_at < coalesce(b.created_at, e.created_at)), count(*)
          from public.alerts a
          left join public.bookings b on b.id = a.booking_id
          left join public.equipment e on e.id = a.equipment_id
         where a.booking_id is not null or a.equipment_id is not null""",
    "resolved late-return alert on a booking not returned": """
        select count(*) filter (where b.status <> 'completed' or a.created_at < b.ends_at), count(*)
          from public.alerts a join public.bookings b on b.id = a.booking_id
         where a.kind = 'overdue_return' and a.status = 'resolved'""",
    "two default filters of one admin for one view": """
        select count(*) filter (where defaults > 1), count(*)
          from (select admin_id, view_name, count(*) filter (where is_default) as defaults
                  from public.dashboard_saved_filters group by 1, 2) per_view""",
    "saved filter of someone not an admin, or out of time order": """
        select count(*) filter (where u.role not in ('admin', 'super_admin')
                                   or f.updated_at < f.created_at or f.updated_at > %(ref)s),
               count(*)
          from public.dashboard_saved_filters f join public.users u on u.id = f.admin_id""",
    "export's file, expiry or error disagrees with its status": """
        select count(*) filter (where not coalesce(
                 case x.status
                   when 'completed' then x.storage_path is not null and x.row_count is not null
                        and x.error_message is null and x.expires_at > %(ref)s
                        and x.completed_at >= x.created_at and x.expires_at = x.completed_at + interval '7 days'
                   when 'expired' then x.error_message is null and x.expires_at <= %(ref)s
                        and x.completed_at >= x.created_at and x.expires_at = x.completed_at + interval '7 days'
                   when 'failed' then x.error_message is not null and x.storage_path is null
                        and x.completed_at is null
                   else x.storage_path is null and x.completed_at is null and x.error_message is null
                        and x.row_count is null end
                 and x.created_at <= %(ref)s and u.role in ('admin', 'super_admin'), false)),
               count(*)
          from public.dashboard_exports x join public.users u on u.id = x.requested_by""",
}
# Baseline data at scale 1 may hold no booking due for payment; scale 5 must.
MAY_BE_EMPTY_AT_SCALE_1 = {
    "open payment or return alert on a booking that is no longer a candidate",
    "candidate at the reference time without an open alert",
}


@pytest.mark.parametrize("scale", [1, 5])
def test_every_table_is_filled_and_invariants_hold(fresh_db, scale):
    with fresh_db.transaction(force_rollback=True):
        report = seed(fresh_db, seeders(), seed=scale, scale=scale)
        results = {
            name: fresh_db.execute(query, {"ref": REFERENCE_TIME}).fetchone() for name, query in INVARIANTS.items()
        }
    filled = report.results[-1].tables
    assert set(filled) == set(TABLES) and all(filled.values()), filled
    assert {name: violations for name, (violations, _) in results.items()} == dict.fromkeys(INVARIANTS, 0)
    empty = {name for name, (_, considered) in results.items() if not considered}
    assert empty <= (MAY_BE_EMPTY_AT_SCALE_1 if scale == 1 else set()), f"nothing to check: {empty}"


def test_refreshed_views_show_the_seeded_bookings_and_revenue(fresh_db):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, seeders(), seed=3, scale=2)
        assert fresh_db.execute("select private.refresh_dashboard_views()").fetchone()[0] == "refreshed"
        kpis = fresh_db.execute(
            "select bookings_total, revenue_collected from public.mv_dashboard_kpis where currency = 'USD'"
        ).fetchone()
        expected = fresh_db.execute(
            "select (select count(*) from public.bookings where currency = 'USD'),"
            " (select sum(amount) from public.payments where currency = 'USD' and status = 'succeeded')"
        ).fetchone()
        # An open payment alert is covered in the candidates view (at any "now" after the reference time).
        uncovered, open_payment_alerts = fresh_db.execute(
            """select count(*) filter (where not exists (
                        select 1 from public.mv_alert_candidates c
                         where c.kind = a.kind and c.subject_id = a.booking_id and c.has_open_alert)),
                      count(*)
                 from public.alerts a where a.kind = 'payment_overdue' and a.status in ('open', 'acknowledged')"""
        ).fetchone()
    assert kpis is not None and kpis[0] > 0 and kpis[1] > 0
    assert kpis == expected
    assert open_payment_alerts > 0 and uncovered == 0
