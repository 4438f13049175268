"""Dashboard & analytics (20251111000100_phase3_dashboard): who reaches the tables and views, and the refresh."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.inspection import matviews

VIEWS = [
    "mv_dashboard_kpis",
    "mv_revenue_trends",
    "mv_booking_trends",
    "mv_equipment_utilization",
    "mv_alert_candidates",
]
FUNCTIONS = [
    "dashboard_kpis",
    "dashboard_revenue_trends",
    "dashboard_booking_trends",
    "dashboard_equipment_utilization",
    "dashboard_alert_candidates",
]
TABLES = ["alerts", "dashboard_saved_filters", "dashboard_exports"]

ADMIN = "00000000-0000-4000-8000-0000000a0001"
SUPER_ADMIN = "00000000-0000-4000-8000-0000000a0002"
LIFT_BOOKING = "00000000-0000-4000-8000-00000000b002"
ROW_IDS = {
    "alerts": "00000000-0000-4000-8000-0000000a1e01",
    "dashboard_saved_filters": "00000000-0000-4000-8000-0000000df001",
    "dashboard_exports": "00000000-0000-4000-8000-0000000de701",
}
NEW_ROW = {
    "alerts": "(kind, title) values ('manual', 'Check the yard gate')",
    "dashboard_saved_filters": f"(admin_id, name, view_name) values ('{ADMIN}', 'Lifts', 'booking_trends')",
    "dashboard_exports": f"(requested_by, view_name) values ('{ADMIN}', 'kpis')",
}

# Figures in a currency no other row file uses, so the expected view rows are exact.
NOK_EQUIPMENT = "00000000-0000-4000-8000-0000000d5e01"
NOK_BOOKING = "00000000-0000-4000-8000-0000000d5b01"
NOK_PAYMENT = "00000000-0000-4000-8000-0000000d5a01"
NOK_ROWS = f"""
insert into public.equipment (id, name, category, serial_number, daily_rate, currency) values
  ('{NOK_EQUIPMENT}', 'Plate compactor', 'compaction', 'PC-NOK-0001', 400, 'NOK');
insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, status, total_amount, currency)
values ('{NOK_BOOKING}', '00000000-0000-4000-8000-0000000c0001', '00000000-0000-4000-8000-00000000e001',
        '2025-06-01 08:00+00', '2025-06-03 08:00+00', 'confirmed', 1200.00, 'NOK');
insert into public.payments (id, booking_id, customer_id, amount, currency, method, status, paid_at) values
  ('{NOK_PAYMENT}', '{NOK_BOOKING}', '00000000-0000-4000-8000-0000000c0001', 1200.00, 'NOK', 'card', 'failed',
   null);
"""


def refresh(conn: psycopg.Connection) -> str:
    return conn.execute("select private.refresh_dashboard_views()").fetchone()[0]


# The refresh ---------------------------------------------------------------


def test_refresh_function_brings_every_view_up_to_date(rows):
    rows.execute(NOK_ROWS)
    assert rows.execute("select count(*) from public.mv_dashboard_kpis where currency = 'NOK'").fetchone() == (0,)

    assert refresh(rows) == "refreshed"

    kpis = rows.execute(
        """select bookings_total, bookings_open, booked_value, revenue_collected, payments_failed
             from public.mv_dashboard_kpis where currency = 'NOK'"""
    ).fetchall()
    assert [tuple(map(str, r)) for r in kpis] == [("1", "1", "1200.00", "0", "1")]
    trends = rows.execute(
        "select bookings_created, bookings_confirmed, rental_days from public.mv_booking_trends where currency = 'NOK'"
    ).fetchall()
    assert [tuple(map(str, r)) for r in trends] == [("1", "1", "2.00")]
    assert rows.execute("select count(*) from public.mv_revenue_trends where currency = 'NOK'").fetchone() == (0,)
    utilization = rows.execute(
        "select bookings_total, booked_days_30d from public.mv_equipment_utilization where equipment_id = %s",
        (NOK_EQUIPMENT,),
    ).fetchall()
    assert [tuple(map(str, r)) for r in utilization] == [("0", "0.00")]
    candidates = rows.execute(
        "select kind from public.mv_alert_candidates where subject_id in (%s, %s, %s) order by kind",
        (NOK_EQUIPMENT, NOK_BOOKING, NOK_PAYMENT),
    ).fetchall()
    # idle_equipment comes from mv_equipment_utilization: it is only there when that view was refreshed first.
    assert candidates == [("idle_equipment",), ("payment_failed",), ("payment_overdue",)]  # check: phase3.refresh_order


def test_revenue_trends_count_succeeded_payments_per_day(rows):
    rows.execute(NOK_ROWS)
    rows.execute(
        "update public.payments set status = 'succeeded', paid_at = '2025-05-30 12:00+00' where id = %s", (NOK_PAYMENT,)
    )
    refresh(rows)
    trend = rows.execute(
        "select day::text, payments_count, net_revenue::text from public.mv_revenue_trends where currency = 'NOK'"
    ).fetchall()
    assert trend == [("2025-05-30", 1, "1200.00")]


def test_equipment_utilization_counts_booked_days_of_the_last_30_days(rows):
    rows.execute(NOK_ROWS)
    rows.execute(
        """insert into public.bookings (customer_id, equipment_id, starts_at, ends_at, status, total_amount)
           values ('00000000-0000-4000-8000-0000000c0001', %s, now() - interval '40 days',
                   now() - interval '27 days', 'completed', 100),
                  ('00000000-0000-4000-8000-0000000c0001', %s, now() - interval '5 days',
                   now() - interval '3 days', 'cancelled', 100)""",
        (NOK_EQUIPMENT, NOK_EQUIPMENT),
    )
    refresh(rows)
    utilization = rows.execute(
        "select bookings_total, booked_days_30d::text, utilization_30d::text from public.mv_equipment_utilization"
        " where equipment_id = %s",
        (NOK_EQUIPMENT,),
    ).fetchall()
    assert utilization == [(1, "3.00", "0.1000")]


def test_alert_candidates_say_when_an_open_alert_covers_them(rows):
    refresh(rows)
    covered = rows.execute(
        "select has_open_alert from public.mv_alert_candidates where kind = 'payment_overdue' and subject_id = %s",
        (LIFT_BOOKING,),
    ).fetchall()
    assert covered == [(True,)]
    rows.execute("update public.alerts set status = 'resolved' where booking_id = %s", (LIFT_BOOKING,))
    refresh(rows)
    assert rows.execute(
        "select has_open_alert from public.mv_alert_candidates where kind = 'payment_overdue' and subject_id = %s",
        (LIFT_BOOKING,),
    ).fetchall() == [(False,)]


def test_a_second_concurrent_refresh_returns_skipped_without_refreshing(rows, pg_server):
    assert refresh(rows) == "refreshed"  # holds the advisory lock until this test's transaction ends
    with psycopg.connect(pg_server.conninfo(rows.info.dbname), autocommit=True) as other:
        other.execute("set lock_timeout = '2s'")
        assert refresh(other) == "skipped"  # check: phase3.refresh_skips_when_running


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_refreshes_concurrently_to_what_its_query_gives_now(rows, view):
    rows.execute(NOK_ROWS)
    rows.execute(f"refresh materialized view concurrently public.{view}")
    (found,) = [v for v in matviews.materialized_views(rows) if v.name == f"public.{view}"]
    assert rows.execute(f"select count(*) from public.{view}").fetchone()[0] > 0
    assert matviews.drift(rows, found) == (0, 0), "rows the view lacks, rows it has too many"


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_has_a_plain_unique_index_for_concurrent_refresh(db, view):
    plain_unique = db.execute(
        """select count(*) from pg_index i
            where i.indrelid = %s::regclass and i.indisunique and i.indpred is null and i.indexprs is null""",
        (f"public.{view}",),
    ).fetchone()[0]
    assert plain_unique == 1


def test_refresh_refuses_signed_in_users_and_serves_the_service_role(rows, act, refused, as_role):
    with act("admin"):
        assert refused(rows, "select private.refresh_dashboard_views()")
    as_role(rows, "service_role")
    assert refresh(rows) == "refreshed"


# The views: only through the checked functions ------------------------------


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_read_the_kpis_through_the_function(rows, act, who):
    refresh(rows)
    act(who)
    kpis = rows.execute("select currency, revenue_collected::text from public.dashboard_kpis()").fetchall()
    assert ("USD", "540.00") in kpis


@pytest.mark.parametrize("function", FUNCTIONS)
def test_admins_reach_every_view_through_its_function(rows, act, function):
    refresh(rows)
    act("admin")
    assert rows.execute(f"select count(*) from public.{function}()").fetchone()[0] > 0


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("who", ["customer", "finance", "marketing", "security"])
def test_non_admins_are_refused_by_the_dashboard_functions(rows, act, refused, who, function):
    refresh(rows)
    act(who)
    assert refused(rows, f"select * from public.{function}()")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_anon_cannot_call_the_dashboard_functions(rows, refused, as_role, function):
    as_role(rows, "anon")
    assert refused(rows, f"select * from public.{function}()")


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("who", ["anon", "customer", "admin"])
def test_no_api_user_selects_the_views_directly(rows, act, refused, as_role, who, view):
    refresh(rows)
    if who == "anon":
        as_role(rows, "anon")
    else:
        act(who)
    assert refused(rows, f"select * from public.{view}")


@pytest.mark.parametrize("view", VIEWS)
def test_service_role_selects_the_views_directly(rows, as_role, view):
    refresh(rows)
    as_role(rows, "service_role")
    assert rows.execute(f"select count(*) from public.{view}").fetchone()[0] > 0


# The tables: admins read and write, the service role only reads --------------


@pytest.mark.parametrize("who", ["admin", "super_admin"])
def test_admins_read_and_write_every_alert(rows, act, who):
    act(who)
    assert rows.execute("select id::text from public.alerts").fetchall() == [(ROW_IDS["alerts"],)]
    rows.execute(f"insert into public.alerts {NEW_ROW['alerts']}")
    assert rows.execute("delete from public.alerts where id = %s", (ROW_IDS["alerts"],)).rowcount == 1


# Saved filters and exports: their owner's (decided in 20261205000300_phase3_last_open_questions)

OWNED = {"dashboard_saved_filters": "admin_id", "dashboard_exports": "requested_by"}


@pytest.mark.parametrize("table", OWNED)
def test_an_admin_reads_and_writes_their_own_filters_and_exports(rows, act, table):
    act("admin")  # the owner of the seeded rows
    assert rows.execute(f"select id::text from public.{table}").fetchall() == [(ROW_IDS[table],)]
    rows.execute(f"insert into public.{table} {NEW_ROW[table]}")
    assert rows.execute(f"update public.{table} set created_at = now()").rowcount == 2
    assert rows.execute(f"delete from public.{table} where id = %s", (ROW_IDS[table],)).rowcount == 1


@pytest.mark.parametrize("table", OWNED)
def test_another_admin_neither_sees_nor_touches_them(rows, act, refused, changed, table):
    act("super_admin")  # super admins included
    assert rows.execute(f"select count(*) from public.{table}").fetchone() == (0,)
    assert changed(rows, f"update public.{table} set created_at = now()") == 0
    assert changed(rows, f"delete from public.{table}") == 0
    assert refused(rows, f"insert into public.{table} {NEW_ROW[table]}")  # in the admin's name


@pytest.mark.parametrize("table", OWNED)
def test_an_admin_cannot_hand_a_filter_or_export_to_someone_else(rows, act, refused, people, table):
    act("admin")
    assert refused(rows, f"update public.{table} set {OWNED[table]} = %s", (people.super_admin,))
    assert rows.execute(f"select {OWNED[table]}::text from public.{table}").fetchall() == [(people.admin,)]


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("who", ["customer", "finance", "marketing", "security", "pricing_service"])
def test_other_signed_in_users_neither_see_nor_write_dashboard_tables(rows, act, refused, who, table):
    act(who)
    assert rows.execute(f"select count(*) from public.{table}").fetchone() == (0,)
    assert refused(rows, f"insert into public.{table} {NEW_ROW[table]}")
    assert rows.execute(f"update public.{table} set created_at = now() where true").rowcount == 0


@pytest.mark.parametrize("table", TABLES)
def test_anon_neither_sees_nor_writes_dashboard_tables(rows, refused, as_role, table):
    as_role(rows, "anon")
    assert refused(rows, f"select count(*) from public.{table}")  # granted nothing: refused before RLS is read
    assert refused(rows, f"insert into public.{table} {NEW_ROW[table]}")


@pytest.mark.parametrize("table", TABLES)
def test_service_role_reads_but_cannot_write_dashboard_tables(rows, refused, as_role, table):
    as_role(rows, "service_role")
    assert rows.execute(f"select id::text from public.{table}").fetchall() == [(ROW_IDS[table],)]
    assert refused(rows, f"insert into public.{table} {NEW_ROW[table]}")
    assert refused(rows, f"update public.{table} set created_at = now()")
    assert refused(rows, f"delete from public.{table}")


@pytest.mark.parametrize("table", TABLES)
def test_service_role_holds_no_table_privilege_but_select(db, table):
    held = db.execute(
        """select p from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
            where has_table_privilege('service_role', %s, p)""",
        (f"public.{table}",),
    ).fetchall()
    assert held == [("SELECT",)]


def test_an_admin_cannot_save_two_filters_with_the_same_name(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.dashboard_saved_filters (admin_id, name, view_name) values (%s, %s, 'kpis')",
            (ADMIN, "Excavators, last 30 days"),
        )
    # Another admin may use the same name.
    rows.execute(
        "insert into public.dashboard_saved_filters (admin_id, name, view_name) values (%s, %s, 'kpis')",
        (SUPER_ADMIN, "Excavators, last 30 days"),
    )


def test_an_alert_names_at_most_one_subject(rows):
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(
            "insert into public.alerts (kind, title, booking_id, equipment_id) values ('manual', 'Two', %s, %s)",
            (LIFT_BOOKING, "00000000-0000-4000-8000-00000000e002"),
        )


def test_the_foreign_keys_and_lookups_are_indexed(db, index_defs):
    names = set(index_defs(db))
    assert {
        "alerts_booking_id_idx",
        "alerts_payment_id_idx",
        "alerts_equipment_id_idx",
        "alerts_acknowledged_by_idx",
        "alerts_resolved_by_idx",
        "dashboard_saved_filters_admin_id_name_key",
        "dashboard_exports_requested_by_idx",
    } <= names
