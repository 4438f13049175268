"""Bookings and logistics (20251111000200_phase3_bookings): who sees what, constraints, indexes, backfills."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations.runner import apply

CORA_SESSION = "00000000-0000-4000-8000-00000002a001"
CARL_SESSION = "00000000-0000-4000-8000-00000002a002"
CORA_SHARED_NOTE = "00000000-0000-4000-8000-00000002d001"
CORA_INTERNAL_NOTE = "00000000-0000-4000-8000-00000002d002"
CARL_SHARED_NOTE = "00000000-0000-4000-8000-00000002d003"
CORA_BOOKING = "00000000-0000-4000-8000-00000000b001"
CARL_BOOKING = "00000000-0000-4000-8000-00000000b002"
PICKUP_TASK = "00000000-0000-4000-8000-00000002e001"

ADMIN_ONLY_TABLES = ["booking_conflicts", "logistics_tasks", "pickup_checklists", "booking_bulk_operations"]


# booking_wizard_sessions -----------------------------------------------------


def test_a_customer_sees_and_changes_only_the_wizard_sessions_they_created(rows, act, ids):
    with act("customer"):
        assert ids(rows, "booking_wizard_sessions") == {CORA_SESSION}
        assert (
            rows.execute(
                "update public.booking_wizard_sessions set current_step = 'review' where id = %s", (CORA_SESSION,)
            ).rowcount
            == 1
        )
        assert (
            rows.execute(
                "update public.booking_wizard_sessions set current_step = 'review' where id = %s", (CARL_SESSION,)
            ).rowcount
            == 0
        )
        assert rows.execute("delete from public.booking_wizard_sessions where id = %s", (CARL_SESSION,)).rowcount == 0
        assert rows.execute("delete from public.booking_wizard_sessions where id = %s", (CORA_SESSION,)).rowcount == 1


def test_a_customer_starts_wizard_sessions_only_as_themselves(rows, act, people):
    with act("customer"):
        created_by = rows.execute(
            "insert into public.booking_wizard_sessions default values returning created_by"
        ).fetchone()[0]
        assert str(created_by) == people.customer
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(
                "insert into public.booking_wizard_sessions (created_by) values (%s)", (people.other_customer,)
            )


def test_a_wizard_session_cannot_be_tied_to_another_customers_booking(rows, act):
    with act("customer"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(
                "update public.booking_wizard_sessions set status = 'submitted', booking_id = %s where id = %s",
                (CARL_BOOKING, CORA_SESSION),
            )
        rows.execute(
            "update public.booking_wizard_sessions set status = 'submitted', booking_id = %s where id = %s",
            (CORA_BOOKING, CORA_SESSION),
        )


@pytest.mark.parametrize("role", ["admin", "super_admin"])
def test_admins_see_and_change_every_wizard_session(rows, act, ids, role):
    with act(role):
        assert ids(rows, "booking_wizard_sessions") == {CORA_SESSION, CARL_SESSION}
        assert rows.execute("update public.booking_wizard_sessions set status = 'expired'").rowcount == 2


@pytest.mark.parametrize("role", ["finance", "marketing", "security", "pricing_service"])
def test_other_staff_roles_see_no_one_elses_wizard_sessions(rows, act, ids, role):
    with act(role):
        assert ids(rows, "booking_wizard_sessions") == set()


# booking_notes ---------------------------------------------------------------


def test_customers_read_only_the_non_internal_notes_on_their_own_bookings(rows, act, ids):
    with act("customer"):
        assert ids(rows, "booking_notes") == {CORA_SHARED_NOTE}
    with act("other_customer"):
        assert ids(rows, "booking_notes") == {CARL_SHARED_NOTE}


def test_customers_cannot_write_booking_notes(rows, act):
    with act("customer"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(
                "insert into public.booking_notes (booking_id, body, is_internal) values (%s, 'hi', false)",
                (CORA_BOOKING,),
            )
        assert rows.execute("update public.booking_notes set body = 'changed'").rowcount == 0


def test_admins_read_and_write_every_booking_note(rows, act, ids, people):
    with act("admin"):
        assert ids(rows, "booking_notes") == {CORA_SHARED_NOTE, CORA_INTERNAL_NOTE, CARL_SHARED_NOTE}
        author, internal = rows.execute(
            "insert into public.booking_notes (booking_id, body) values (%s, 'Checked the tyres')"
            " returning author_id, is_internal",
            (CARL_BOOKING,),
        ).fetchone()
        assert (str(author), internal) == (people.admin, True), "notes are internal unless marked otherwise"


@pytest.mark.parametrize("role", ["finance", "marketing", "security", "pricing_service"])
def test_other_staff_roles_read_no_booking_notes(rows, act, ids, role):
    with act(role):
        assert ids(rows, "booking_notes") == set()


# Admin-only tables -----------------------------------------------------------


@pytest.mark.parametrize("table", ADMIN_ONLY_TABLES)
@pytest.mark.parametrize("role", ["admin", "super_admin"])
def test_admins_read_and_change_the_logistics_tables(rows, act, ids, table, role):
    with act(role):
        assert len(ids(rows, table)) >= 1
        assert rows.execute(f"update public.{table} set created_at = created_at").rowcount >= 1


@pytest.mark.parametrize("table", ADMIN_ONLY_TABLES)
@pytest.mark.parametrize("role", ["customer", "other_customer", "finance", "marketing", "security", "pricing_service"])
def test_no_one_else_reads_or_changes_the_logistics_tables(rows, act, ids, table, role):
    with act(role):
        assert ids(rows, table) == set()
        assert rows.execute(f"update public.{table} set created_at = created_at").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(f"insert into public.{table} default values")


@pytest.mark.parametrize("table", ["booking_wizard_sessions", "booking_notes", *ADMIN_ONLY_TABLES])
def test_anon_reads_and_writes_nothing(rows, refused, as_role, table):
    with as_role(rows, "anon"):
        assert refused(rows, f"select id from public.{table}")  # granted nothing: refused before RLS is read
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(f"insert into public.{table} default values")


# Charges on bookings: pricing, deposit, balance ------------------------------

EQUIPMENT = "00000000-0000-4000-8000-00000000e001"
CORA_PENDING = "00000000-0000-4000-8000-0000000b2001"

# Column values a customer could try to give themselves (the review's exploit).
CHARGES = {
    "pricing_breakdown": """'{"discount": "staff"}'""",
    "deposit_amount": "5000",
    "deposit_status": "'paid'",
    "deposit_paid_at": "now()",
    "balance_due": "0",
}


def add_pending_booking(conn: psycopg.Connection) -> None:
    """Cora's pending booking (total 180), which she may still edit."""
    conn.execute(
        "insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, total_amount)"
        " values (%s, %s, %s, '2025-12-01', '2025-12-02', 180)",
        (CORA_PENDING, "00000000-0000-4000-8000-0000000c0001", EQUIPMENT),
    )


def book(conn: psycopg.Connection, customer: str, extra: dict[str, str] | None = None) -> tuple:
    """A one-day booking of the 180-a-day excavator, as a client sends it (no price: the server sets it)."""
    columns = ", ".join(["customer_id", "equipment_id", "starts_at", "ends_at", *(extra or {})])
    values = ", ".join(["%s", "%s", "'2025-12-01'", "'2025-12-02'", *(extra or {}).values()])
    return conn.execute(
        f"insert into public.bookings ({columns}) values ({values})"
        " returning pricing_breakdown ->> 'total', deposit_amount, deposit_status, deposit_paid_at, balance_due",
        (customer, EQUIPMENT),
    ).fetchone()


@pytest.mark.parametrize("column", CHARGES)
def test_a_customer_cannot_book_with_a_pricing_deposit_or_balance_of_their_choosing(rows, act, people, column):
    with act("customer"), pytest.raises(psycopg.errors.InsufficientPrivilege):
        book(rows, people.customer, {column: CHARGES[column]})


def test_a_customer_books_without_charges_and_the_server_prices_it(rows, act, people):
    with act("customer"):
        assert book(rows, people.customer) == ("180.00", 0, "not_required", None, 180)
        # A client that sends the defaults explicitly is fine too.
        assert book(
            rows,
            people.customer,
            {
                "pricing_breakdown": "null",
                "deposit_amount": "0",
                "deposit_status": "'not_required'",
                "balance_due": "null",
            },
        ) == ("180.00", 0, "not_required", None, 180)


@pytest.mark.parametrize("column", ["total_amount", *CHARGES])
def test_a_customer_cannot_change_the_price_deposit_or_balance_of_their_pending_booking(rows, act, column):
    add_pending_booking(rows)
    value = {"total_amount": "0.01", **CHARGES}[column]
    with act("customer"), pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows.execute(f"update public.bookings set {column} = {value} where id = %s", (CORA_PENDING,))


def test_a_customer_still_edits_and_cancels_their_pending_booking(rows, act):
    add_pending_booking(rows)
    with act("customer"):
        # Unchanged charges in the SET list (a client sending the whole row) are fine.
        assert (
            rows.execute(
                "update public.bookings set ends_at = '2025-12-03', total_amount = total_amount,"
                " deposit_status = deposit_status where id = %s",
                (CORA_PENDING,),
            ).rowcount
            == 1
        )
        assert (
            rows.execute("update public.bookings set status = 'cancelled' where id = %s", (CORA_PENDING,)).rowcount == 1
        )


SET_CHARGES = (
    """update public.bookings set total_amount = 150, pricing_breakdown = '{"discount": 30}',"""
    " deposit_amount = 500, deposit_status = 'paid', deposit_paid_at = now(), balance_due = 150 where id = %s"
)


@pytest.mark.parametrize("role", ["admin", "super_admin"])
def test_admins_set_the_price_deposit_and_balance(rows, act, people, role):
    add_pending_booking(rows)
    with act(role):
        assert rows.execute(SET_CHARGES, (CORA_PENDING,)).rowcount == 1
        booked = book(rows, people.customer, CHARGES)
    assert booked[1:3] == (5000, "paid")


def test_the_service_role_sets_the_price_deposit_and_balance(rows, as_role):
    add_pending_booking(rows)
    with as_role(rows, "service_role"):
        assert rows.execute(SET_CHARGES, (CORA_PENDING,)).rowcount == 1


def test_finance_may_change_only_the_balance_if_a_policy_lets_them_edit_bookings(rows, act):
    """The guard, not only the missing policy, keeps finance off the price and the deposit."""
    add_pending_booking(rows)
    rows.execute(
        "create policy test_finance_all on public.bookings for all to authenticated"
        " using ((select private.current_app_role()) = 'finance')"
    )
    with act("finance"):
        assert rows.execute("update public.bookings set balance_due = 20 where id = %s", (CORA_PENDING,)).rowcount == 1
        for column in ["total_amount", "pricing_breakdown", "deposit_amount", "deposit_status", "deposit_paid_at"]:
            value = {"total_amount": "0.01", **CHARGES}[column]
            with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
                rows.execute(f"update public.bookings set {column} = {value} where id = %s", (CORA_PENDING,))


# Bulk operations are requested in one's own name ------------------------------


@pytest.mark.parametrize("role", ["admin", "super_admin"])
def test_admins_request_bulk_operations_only_in_their_own_name(rows, act, people, role):
    insert = "insert into public.booking_bulk_operations (operation_type, booking_ids{}) values ('cancel', %s{})"
    with act(role):
        requested_by = rows.execute(insert.format("", "") + " returning requested_by", ([CARL_BOOKING],)).fetchone()[0]
        assert str(requested_by) == getattr(people, role)
        other = people.admin if role == "super_admin" else people.super_admin
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(insert.format(", requested_by", ", %s"), ([CARL_BOOKING], other))


# Constraints -----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        f"update public.bookings set deposit_status = 'lost' where id = '{CORA_BOOKING}'",
        f"update public.bookings set deposit_amount = -1 where id = '{CORA_BOOKING}'",
        f"update public.bookings set balance_due = -0.01 where id = '{CORA_BOOKING}'",
        f"update public.bookings set pricing_breakdown = '[1, 2]' where id = '{CORA_BOOKING}'",
        "update public.delivery_assignments set route_url = 'http://maps.example.test/r'",
        f"insert into public.booking_notes (booking_id, body) values ('{CORA_BOOKING}', '  ')",
        f"update public.logistics_tasks set status = 'lost' where id = '{PICKUP_TASK}'",
    ],
)
def test_invalid_values_are_refused(rows, statement):
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(statement)


def test_a_pickup_task_has_one_checklist(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.pickup_checklists (task_id, booking_id) values (%s, %s)", (PICKUP_TASK, CORA_BOOKING)
        )


def test_the_same_open_conflict_is_recorded_once(rows):
    insert = (
        "insert into public.booking_conflicts (booking_id, conflicting_booking_id, equipment_id, conflict_type)"
        " values (%s, %s, '00000000-0000-4000-8000-00000000e001', 'double_booking')"
    )
    rows.execute(insert, (CORA_BOOKING, CARL_BOOKING))
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(insert, (CORA_BOOKING, CARL_BOOKING))


def test_delivery_assignments_point_at_a_real_logistics_task_and_let_go_when_it_is_deleted(rows):
    with pytest.raises(psycopg.errors.ForeignKeyViolation), rows.transaction():
        rows.execute("update public.delivery_assignments set task_id = gen_random_uuid()")
    rows.execute("delete from public.logistics_tasks where id = %s", (PICKUP_TASK,))
    assert rows.execute("select task_id from public.delivery_assignments").fetchall() == [(None,)]


def test_the_named_indexes_exist(db, index_defs):
    definitions = index_defs(db)
    assert "(status, scheduled_date)" in definitions["logistics_tasks_status_scheduled_date_idx"]
    assert "(booking_id, created_at)" in definitions["booking_notes_booking_id_created_at_idx"]
    assert "(task_id)" in definitions["delivery_assignments_task_id_idx"]


# Backfills on rows that existed before the migration -------------------------

VERSION = "20251111000200"  # phase3_bookings

# On top of rows/00_baseline.sql: Cora's completed booking (540, paid 540) and
# Carl's confirmed one (95, payment pending).
EXTRA_BOOKINGS = """
insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, status, total_amount) values
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-00000000e002', '2025-11-01 08:00+00', '2025-11-03 08:00+00', 'confirmed', 300.00),
  ('00000000-0000-4000-8000-0000000bf002', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e001', '2025-11-05 08:00+00', '2025-11-06 08:00+00', 'confirmed', 100.00),
  ('00000000-0000-4000-8000-0000000bf003', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e002', '2025-11-07 08:00+00', '2025-11-08 08:00+00', 'pending', 80.00);
insert into public.payments (booking_id, customer_id, amount, method, status) values
  -- bf001: 100 + 50 succeeded, a failed and a refunded one do not count.
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 100.00, 'card', 'succeeded'),
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 50.00, 'cash', 'succeeded'),
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 150.00, 'card', 'failed'),
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 30.00, 'card', 'refunded'),
  -- bf002: overpaid.
  ('00000000-0000-4000-8000-0000000bf002', '00000000-0000-4000-8000-0000000c0002', 120.00, 'card', 'succeeded');
"""


@pytest.fixture
def before_bookings(empty_db, migrate_just_before):
    """An empty database migrated up to just before the bookings file, with rows that predate it."""
    migration = migrate_just_before(VERSION)
    empty_db.execute(EXTRA_BOOKINGS)
    return empty_db, migration


def balances(conn: psycopg.Connection) -> dict[str, tuple]:
    return {
        str(booking): (balance, deposit, status)
        for booking, balance, deposit, status in conn.execute(
            "select id, balance_due, deposit_amount, deposit_status from public.bookings"
        )
    }


def test_existing_bookings_get_their_balance_due_and_no_deposit(before_bookings):
    conn, migration = before_bookings
    apply(conn, migration)
    assert {booking: balance for booking, (balance, _, _) in balances(conn).items()} == {
        CORA_BOOKING: 0,  # 540 paid in full
        CARL_BOOKING: 95,  # only a pending payment
        "00000000-0000-4000-8000-0000000bf001": 150,  # 300 - (100 + 50)
        "00000000-0000-4000-8000-0000000bf002": 0,  # overpaid: not below 0
        "00000000-0000-4000-8000-0000000bf003": 80,  # no payment at all
    }
    assert {(deposit, status) for _, deposit, status in balances(conn).values()} == {(0, "not_required")}


def test_re_running_the_backfill_keeps_balances_the_booking_flow_has_set(before_bookings):
    conn, migration = before_bookings
    apply(conn, migration)
    conn.execute("update public.bookings set balance_due = 12.50 where id = %s", (CARL_BOOKING,))
    with conn.transaction():
        conn.execute(migration.text)
    assert balances(conn)[CARL_BOOKING][0] == 12.50
