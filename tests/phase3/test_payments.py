"""Payments and finance (20251111000500_phase3_payments): who sees what, the ledger, constraints, backfill."""

from __future__ import annotations

import psycopg
import pytest

from phase3test.migrations.runner import apply

FINANCE_RECORD = "00000000-0000-4000-8000-00000005a001"
ADMIN_RECORD = "00000000-0000-4000-8000-00000005a002"
CORA_INSTALLMENT = "00000000-0000-4000-8000-00000005b001"
CARL_INSTALLMENT = "00000000-0000-4000-8000-00000005b002"
LEDGER_LEGS = {"00000000-0000-4000-8000-00000005e001", "00000000-0000-4000-8000-00000005e002"}
CORA_BOOKING = "00000000-0000-4000-8000-00000000b001"
CARL_BOOKING = "00000000-0000-4000-8000-00000000b002"
CARL = "00000000-0000-4000-8000-0000000c0002"

NOBODY_IN_FINANCE = ["customer", "other_customer", "marketing", "security", "pricing_service"]


def record_manual_payment(conn: psycopg.Connection, created_by: str | None = None) -> None:
    columns, values = "booking_id, customer_id, amount, method", f"'{CARL_BOOKING}', '{CARL}', 10, 'cash'"
    if created_by:
        columns, values = f"{columns}, created_by", f"{values}, '{created_by}'"
    conn.execute(f"insert into public.manual_payments ({columns}) values ({values})")


def post(conn: psycopg.Connection, tx: str, legs: list[tuple[str, str, str]]) -> None:
    for account, entry_type, amount in legs:
        conn.execute(
            "insert into public.financial_ledger (transaction_id, account, entry_type, amount) values (%s, %s, %s, %s)",
            (tx, account, entry_type, amount),
        )
    conn.execute("set constraints public.financial_ledger_balanced immediate")


# manual_payments -------------------------------------------------------------


@pytest.mark.parametrize(("role", "own"), [("finance", FINANCE_RECORD), ("admin", ADMIN_RECORD)])
def test_finance_and_admin_users_see_and_edit_only_the_manual_payments_they_recorded(rows, act, ids, role, own):
    with act(role):
        assert ids(rows, "manual_payments") == {own}
        assert rows.execute("update public.manual_payments set notes = 'checked'").rowcount == 1
        record_manual_payment(rows)
        assert rows.execute("select count(*) from public.manual_payments").fetchone()[0] == 2


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_manual_payments_are_recorded_only_in_ones_own_name_and_never_deleted(rows, act, people, role):
    with act(role):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            record_manual_payment(rows, created_by=people.super_admin)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute("update public.manual_payments set created_by = %s", (people.super_admin,))
        assert rows.execute("delete from public.manual_payments").rowcount == 0


def test_super_admin_sees_and_manages_every_manual_payment(rows, act, ids):
    with act("super_admin"):
        assert ids(rows, "manual_payments") == {FINANCE_RECORD, ADMIN_RECORD}
        assert rows.execute("update public.manual_payments set notes = 'audited'").rowcount == 2
        assert rows.execute("delete from public.manual_payments where id = %s", (FINANCE_RECORD,)).rowcount == 1


@pytest.mark.parametrize("role", NOBODY_IN_FINANCE)
def test_no_one_else_sees_or_records_manual_payments(rows, act, ids, role):
    with act(role):
        assert ids(rows, "manual_payments") == set()
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            record_manual_payment(rows)


# installment_schedules -------------------------------------------------------


def test_customers_read_only_their_own_installments_and_change_none(rows, act, ids, people):
    with act("customer"):
        assert ids(rows, "installment_schedules") == {CORA_INSTALLMENT}
        assert rows.execute("update public.installment_schedules set amount = 1").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(
                "insert into public.installment_schedules (booking_id, customer_id, installment_number, due_date,"
                " amount) values (%s, %s, 2, '2025-10-03', 10)",
                (CORA_BOOKING, people.customer),
            )
    with act("other_customer"):
        assert ids(rows, "installment_schedules") == {CARL_INSTALLMENT}


def test_finance_schedules_installments_but_does_not_delete_them(rows, act, ids, people):
    with act("finance"):
        assert ids(rows, "installment_schedules") == {CORA_INSTALLMENT, CARL_INSTALLMENT}
        rows.execute(
            "insert into public.installment_schedules (booking_id, customer_id, installment_number, due_date, amount)"
            " values (%s, %s, 2, '2025-10-03', 270)",
            (CORA_BOOKING, people.customer),
        )
        assert rows.execute("update public.installment_schedules set status = 'overdue'").rowcount == 3
        assert rows.execute("delete from public.installment_schedules").rowcount == 0


def test_an_installment_number_is_used_once_per_booking(rows):
    with pytest.raises(psycopg.errors.UniqueViolation), rows.transaction():
        rows.execute(
            "insert into public.installment_schedules (booking_id, customer_id, installment_number, due_date, amount)"
            " values (%s, %s, 1, '2025-11-01', 10)",
            (CORA_BOOKING, "00000000-0000-4000-8000-0000000c0001"),
        )


# payout_reconciliations, financial_exports, installments: finance and admins ---

FINANCE_TABLES = ["installment_schedules", "payout_reconciliations", "financial_exports"]


@pytest.mark.parametrize("table", FINANCE_TABLES)
@pytest.mark.parametrize("role", ["finance", "admin", "super_admin"])
def test_finance_and_admins_read_the_finance_tables(rows, act, ids, table, role):
    with act(role):
        assert len(ids(rows, table)) >= 1


def test_finance_reconciles_payouts_and_requests_exports(rows, act, people):
    with act("finance"):
        assert (
            rows.execute(
                "update public.payout_reconciliations set status = 'discrepancy', notes = 'fee 15.95'"
            ).rowcount
            == 1
        )
        requested_by = rows.execute(
            "insert into public.financial_exports (export_type, period_start, period_end)"
            " values ('ledger', '2025-10-01', '2025-10-31') returning requested_by"
        ).fetchone()[0]
        assert str(requested_by) == people.finance


@pytest.mark.parametrize("role", ["finance", "admin", "super_admin"])
def test_exports_are_requested_only_in_ones_own_name(rows, act, people, role):
    insert = (
        "insert into public.financial_exports (export_type, period_start, period_end, requested_by)"
        " values ('ledger', '2025-10-01', '2025-10-31', %s)"
    )
    with act(role):
        rows.execute(insert, (getattr(people, role),))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(insert, (people.finance if role != "finance" else people.admin,))


@pytest.mark.parametrize("role", ["admin", "super_admin"])
def test_an_export_stays_in_the_name_of_whoever_requested_it(rows, act, refused, people, role):
    with act(role):
        assert refused(rows, "update public.financial_exports set requested_by = %s", (getattr(people, role),))
        assert rows.execute("update public.financial_exports set status = status").rowcount == 1  # other edits pass


@pytest.mark.parametrize("table", ["payout_reconciliations", "financial_exports"])
@pytest.mark.parametrize("role", NOBODY_IN_FINANCE)
def test_no_one_else_reads_or_writes_payouts_and_exports(rows, act, ids, table, role):
    with act(role):
        assert ids(rows, table) == set()
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(f"insert into public.{table} default values")


@pytest.mark.parametrize(
    "table",
    ["manual_payments", "installment_schedules", "payout_reconciliations", "financial_exports", "financial_ledger"],
)
def test_anon_reads_and_writes_nothing(rows, refused, as_role, table):
    with as_role(rows, "anon"):
        assert refused(rows, f"select id from public.{table}")  # granted nothing: refused before RLS is read
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(f"insert into public.{table} default values")


# financial_ledger --------------------------------------------------------------


def test_finance_posts_balanced_transactions_in_their_own_name(rows, act, people):
    with act("finance"):
        post(rows, "00000000-0000-4000-8000-00000005ef02", [("cash", "debit", "40"), ("revenue", "credit", "40")])
        assert (
            rows.execute(
                "select count(*) from public.financial_ledger where created_by = %s", (people.finance,)
            ).fetchone()[0]
            == 4
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            rows.execute(
                "insert into public.financial_ledger (transaction_id, account, entry_type, amount, created_by)"
                " values (gen_random_uuid(), 'cash', 'debit', 1, %s)",
                (people.admin,),
            )


def test_a_transaction_whose_debits_and_credits_differ_is_refused(rows, act):
    act("finance")
    with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"), rows.transaction():
        post(rows, "00000000-0000-4000-8000-00000005ef03", [("cash", "debit", "40"), ("revenue", "credit", "39")])


@pytest.mark.parametrize("role", ["finance", "admin", "super_admin"])
def test_the_ledger_is_append_only(rows, act, ids, role):
    with act(role):
        assert ids(rows, "financial_ledger") == LEDGER_LEGS
        for statement in (
            "update public.financial_ledger set description = 'x'",
            "delete from public.financial_ledger",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
                rows.execute(statement)


@pytest.mark.parametrize("role", ["admin", "super_admin"])
def test_admins_read_the_ledger_but_do_not_post(rows, act, role):
    act(role)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
        post(rows, "00000000-0000-4000-8000-00000005ef04", [("cash", "debit", "5"), ("refunds", "credit", "5")])


@pytest.mark.parametrize("role", NOBODY_IN_FINANCE)
def test_no_one_else_reads_or_posts_to_the_ledger(rows, act, ids, role):
    with act(role):
        assert ids(rows, "financial_ledger") == set()
        with pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
            post(rows, "00000000-0000-4000-8000-00000005ef05", [("cash", "debit", "5"), ("refunds", "credit", "5")])


LEDGER_LEG = (
    "insert into public.financial_ledger (transaction_id, account, entry_type, amount, created_by)"
    " values (gen_random_uuid(), 'cash', '{entry_type}', {amount}, '00000000-0000-4000-8000-0000000f0001')"
)


@pytest.mark.parametrize(
    "statement",
    [
        LEDGER_LEG.format(entry_type="withdrawal", amount=5),
        LEDGER_LEG.format(entry_type="debit", amount=0),
        LEDGER_LEG.format(entry_type="credit", amount=-5),
        f"update public.bookings set billing_status = 'overdue' where id = '{CORA_BOOKING}'",
        "update public.payments set manual_source = 'carrier_pigeon'",
        "update public.manual_payments set status = 'voided'",  # without a void_reason
    ],
)
def test_invalid_values_are_refused(rows, statement):
    with pytest.raises(psycopg.errors.CheckViolation), rows.transaction():
        rows.execute(statement)


def test_the_named_indexes_exist(db, index_defs):
    definitions = index_defs(db)
    assert "(due_date)" in definitions["installment_schedules_due_date_idx"]
    assert "(booking_id, effective_date)" in definitions["financial_ledger_booking_id_idx"]


# bookings.billing_status ---------------------------------------------------------


def test_a_new_booking_starts_unpaid_and_billing_changes_are_timestamped(rows, act, people):
    with act("customer"):
        booking, status, stamped = rows.execute(
            "insert into public.bookings (customer_id, equipment_id, starts_at, ends_at)"
            " values (%s, '00000000-0000-4000-8000-00000000e001', '2025-12-01', '2025-12-02')"
            " returning id, billing_status, billing_status_updated_at",
            (people.customer,),
        ).fetchone()
    assert (status, stamped is not None) == ("unpaid", True)
    rows.execute("update public.bookings set billing_status_updated_at = null where id = %s", (booking,))
    rows.execute("update public.bookings set billing_status = 'paid' where id = %s", (booking,))
    assert rows.execute(
        "select billing_status_updated_at is not null from public.bookings where id = %s", (booking,)
    ).fetchone()[0]


CORA_PENDING = "00000000-0000-4000-8000-0000000b5001"


def add_pending_booking(conn: psycopg.Connection) -> None:
    """Cora's pending booking (total 180, unpaid), which she may still edit."""
    conn.execute(
        "insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, total_amount)"
        " values (%s, '00000000-0000-4000-8000-0000000c0001', '00000000-0000-4000-8000-00000000e001',"
        " '2025-12-01', '2025-12-02', 180)",
        (CORA_PENDING,),
    )


def stamp_of(conn: psycopg.Connection, booking: str):
    return conn.execute("select billing_status_updated_at from public.bookings where id = %s", (booking,)).fetchone()[0]


@pytest.mark.parametrize(
    ("column", "value"), [("billing_status", "'paid'"), ("billing_status_updated_at", "'2020-01-01'")]
)
def test_a_customer_cannot_book_with_a_billing_status_of_their_choosing(rows, act, people, column, value):
    with act("customer"), pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows.execute(
            f"insert into public.bookings (customer_id, equipment_id, starts_at, ends_at, total_amount, {column})"
            f" values (%s, '00000000-0000-4000-8000-00000000e001', '2025-12-01', '2025-12-02', 180, {value})",
            (people.customer,),
        )


@pytest.mark.parametrize(
    "assignment",
    ["billing_status = 'paid'", "billing_status_updated_at = '2020-01-01'", "billing_status_updated_at = null"],
)
def test_a_customer_cannot_change_the_billing_status_of_their_pending_booking(rows, act, assignment):
    add_pending_booking(rows)
    with act("customer"), pytest.raises(psycopg.errors.InsufficientPrivilege):
        rows.execute(f"update public.bookings set {assignment} where id = %s", (CORA_PENDING,))


def test_a_customer_edit_of_their_pending_booking_keeps_its_billing_stamp(rows, act):
    add_pending_booking(rows)
    stamped = stamp_of(rows, CORA_PENDING)
    with act("customer"):
        assert (
            rows.execute(
                "update public.bookings set ends_at = '2025-12-03', billing_status = billing_status,"
                " billing_status_updated_at = billing_status_updated_at where id = %s",
                (CORA_PENDING,),
            ).rowcount
            == 1
        )
    assert stamp_of(rows, CORA_PENDING) == stamped


@pytest.mark.parametrize("role", ["admin", "super_admin", "finance"])
def test_admins_and_finance_change_billing_statuses_and_the_change_is_stamped(rows, act, role):
    add_pending_booking(rows)
    rows.execute("update public.bookings set billing_status_updated_at = null where id = %s", (CORA_PENDING,))
    with act(role):
        assert (
            rows.execute("update public.bookings set billing_status = 'paid' where id = %s", (CORA_PENDING,)).rowcount
            == 1
        )
    assert stamp_of(rows, CORA_PENDING) is not None


FINANCE_OWN = "00000000-0000-4000-8000-0000000b5002"


@pytest.mark.parametrize(
    "change", ["billing_status = 'paid'", "balance_due = 0", "billing_status = 'paid', balance_due = 0"]
)
def test_finance_cannot_settle_a_booking_of_their_own(rows, act, people, change):
    """On their own booking a finance user is a customer like any other: no marking it paid."""
    rows.execute(
        "insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, total_amount)"
        " values (%s, %s, '00000000-0000-4000-8000-00000000e001', '2025-12-03', '2025-12-04', 180)",
        (FINANCE_OWN, people.finance),
    )
    with act("finance"), pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
        rows.execute(f"update public.bookings set {change} where id = %s", (FINANCE_OWN,))


def test_finance_cannot_book_for_themselves_already_paid(rows, act, people):
    with act("finance"), pytest.raises(psycopg.errors.InsufficientPrivilege), rows.transaction():
        rows.execute(
            "insert into public.bookings (customer_id, equipment_id, starts_at, ends_at, total_amount, billing_status,"
            " balance_due) values (%s, '00000000-0000-4000-8000-00000000e001', '2025-12-05', '2025-12-06', 180,"
            " 'paid', 0)",
            (people.finance,),
        )


def test_the_service_role_changes_billing_statuses(rows, as_role):
    add_pending_booking(rows)
    with as_role(rows, "service_role"):
        assert (
            rows.execute("update public.bookings set billing_status = 'paid' where id = %s", (CORA_PENDING,)).rowcount
            == 1
        )


def test_a_billing_status_change_is_stamped_even_when_billing_status_is_not_in_the_set_list(rows):
    add_pending_booking(rows)
    # Another BEFORE trigger (they fire in name order) derives the billing status.
    rows.execute(
        """create function pg_temp.mark_paid() returns trigger language plpgsql as $$
           begin new.billing_status := 'paid'; return new; end $$"""
    )
    rows.execute(
        "create trigger bookings_a_mark_paid before update of status on public.bookings"
        " for each row execute function pg_temp.mark_paid()"
    )
    rows.execute("update public.bookings set billing_status_updated_at = null where id = %s", (CORA_PENDING,))
    rows.execute("update public.bookings set status = 'confirmed' where id = %s", (CORA_PENDING,))
    assert stamp_of(rows, CORA_PENDING) is not None


# Backfill on rows that existed before the migration ------------------------------

VERSION = "20251111000500"  # phase3_payments

# On top of rows/00_baseline.sql: Cora's booking (540, paid 540) and Carl's (95, payment pending).
EXTRA_BOOKINGS = """
insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, status, total_amount) values
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-00000000e002', '2025-11-01 08:00+00', '2025-11-03 08:00+00', 'confirmed', 300.00),
  ('00000000-0000-4000-8000-0000000bf002', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e001', '2025-11-05 08:00+00', '2025-11-06 08:00+00', 'confirmed', 100.00),
  ('00000000-0000-4000-8000-0000000bf003', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e002', '2025-11-07 08:00+00', '2025-11-08 08:00+00', 'pending', 80.00),
  ('00000000-0000-4000-8000-0000000bf004', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e002', '2025-11-09 08:00+00', '2025-11-10 08:00+00', 'confirmed', 0.00);
insert into public.payments (booking_id, customer_id, amount, method, status) values
  -- bf001: 100 + 50 succeeded; the failed and the refunded ones do not count.
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 100.00, 'card', 'succeeded'),
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 50.00, 'cash', 'succeeded'),
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 150.00, 'card', 'failed'),
  ('00000000-0000-4000-8000-0000000bf001', '00000000-0000-4000-8000-0000000c0001', 150.00, 'card', 'refunded'),
  -- bf002: paid in two parts, more than the total.
  ('00000000-0000-4000-8000-0000000bf002', '00000000-0000-4000-8000-0000000c0002', 60.00, 'card', 'succeeded'),
  ('00000000-0000-4000-8000-0000000bf002', '00000000-0000-4000-8000-0000000c0002', 60.00, 'card', 'succeeded');
"""


@pytest.fixture
def before_payments(empty_db, migrate_just_before):
    """An empty database migrated up to just before the payments file, with rows that predate it."""
    migration = migrate_just_before(VERSION)
    empty_db.execute(EXTRA_BOOKINGS)
    return empty_db, migration


def billing(conn: psycopg.Connection) -> dict[str, str]:
    return {
        str(booking): status
        for booking, status in conn.execute(
            "select id, billing_status from public.bookings where billing_status_updated_at is not null"
        )
    }


def test_existing_bookings_get_their_billing_status_from_their_payments(before_payments):
    conn, migration = before_payments
    apply(conn, migration)
    assert billing(conn) == {
        CORA_BOOKING: "paid",
        CARL_BOOKING: "unpaid",  # only a pending payment
        "00000000-0000-4000-8000-0000000bf001": "partially_paid",
        "00000000-0000-4000-8000-0000000bf002": "paid",
        "00000000-0000-4000-8000-0000000bf003": "unpaid",  # no payment at all
        "00000000-0000-4000-8000-0000000bf004": "paid",  # nothing to pay
    }


def test_re_running_the_backfill_keeps_billing_statuses_set_since(before_payments):
    conn, migration = before_payments
    apply(conn, migration)
    conn.execute("update public.bookings set billing_status = 'refunded' where id = %s", (CORA_BOOKING,))
    with conn.transaction():
        conn.execute(migration.text)
    assert billing(conn)[CORA_BOOKING] == "refunded"


# Decided in 20261205000200_phase3_finance_and_staff ---------------------------------


def test_finance_reads_every_payment_to_reconcile_payouts_and_writes_none(rows, act, ids, changed):
    everyone = ids(rows, "payments")
    with act("finance"):
        assert ids(rows, "payments") == everyone and len(everyone) > 1  # not only its own
        assert changed(rows, "update public.payments set amount = amount") == 0
        assert changed(rows, "delete from public.payments") == 0


def test_finance_corrects_a_reconciliation_but_never_deletes_one(rows, act, changed):
    with act("finance"):
        assert changed(rows, "update public.payout_reconciliations set notes = 'checked twice'") == 1
        assert changed(rows, "delete from public.payout_reconciliations") == 0
    with act("admin"):
        assert changed(rows, "delete from public.payout_reconciliations") == 1


# Decided in 20261205000300_phase3_last_open_questions ------------------------------


def test_finance_reads_every_booking_and_settles_a_customers_balance(rows, act, ids, people):
    everyone = ids(rows, "bookings")
    with act("finance"):
        assert ids(rows, "bookings") == everyone and len(everyone) > 1  # not only its own
        settled = rows.execute(
            "update public.bookings set balance_due = 0, billing_status = 'paid' where id = %s", (CARL_BOOKING,)
        ).rowcount
    assert settled == 1
    assert rows.execute(
        "select balance_due::text, billing_status from public.bookings where id = %s", (CARL_BOOKING,)
    ).fetchone() == ("0.00", "paid")


@pytest.mark.parametrize(
    "change",
    [
        "status = 'cancelled'",
        "ends_at = ends_at + interval '1 day'",
        "notes = 'moved by finance'",
        "customer_id = '00000000-0000-4000-8000-0000000f0001'",
        "billing_status = 'paid', status = 'completed'",
    ],
)
def test_finance_changes_nothing_else_on_a_customers_booking(rows, act, refused, change):
    before = rows.execute("select to_jsonb(b) from public.bookings b where id = %s", (CARL_BOOKING,)).fetchone()
    with act("finance"):
        assert refused(rows, f"update public.bookings set {change} where id = %s", (CARL_BOOKING,))
    assert rows.execute("select to_jsonb(b) from public.bookings b where id = %s", (CARL_BOOKING,)).fetchone() == before


def test_finance_still_cannot_delete_or_create_a_customers_booking(rows, act, refused, changed, people):
    with act("finance"):
        assert changed(rows, "delete from public.bookings") == 0
        assert refused(
            rows,
            "insert into public.bookings (customer_id, equipment_id, starts_at, ends_at, total_amount)"
            " values (%s, '00000000-0000-4000-8000-00000000e001', '2025-12-05', '2025-12-06', 180)",
            (people.customer,),
        )
