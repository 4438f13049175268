"""Payments and finance: manual payments, instalment plans, payout reconciliations, exports and the ledger.

Built from the rows the baseline loaded for bookings and payments
(`baseline_rows`). Only what happened by
the reference time is recorded.

Invariants the tests check: an applied manual payment is the succeeded
payments row it was entered as (same booking, customer, amount, method,
time); a booking's instalments (leaving out cancelled ones) add up to its
total, the unpaid ones to its balance due, the paid ones are its succeeded
payments, and an unpaid one is overdue exactly when its due date has passed;
a payout's expected amount and count are those of the payments of its day
and channel, and its status agrees with the difference; an export's row
count is that of its rows in its period; every ledger transaction balances,
so every booking does, its accounts receivable equal its balance due, and
the card clearing account holds exactly the card payments not paid out yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from phase3test.seeding.model import Batch, SeedContext, Seeder
from phase3test.seeding.phase3.bookings import DAY, HOUR, MINUTE, BaselineRows, baseline_rows, between, pick, randint

CENT = Decimal("0.01")
VOIDED_PER_SCALE = 2
INSTALMENT_SHARE, INSTALMENT_MIN_TOTAL = 0.35, Decimal(300)
# Where a payment's money lands first, by method.
CASH_ACCOUNT = {"card": "cash.stripe_clearing", "bank_transfer": "cash.bank", "cash": "cash.on_hand"}
EXPORT_TYPES = ("payments", "ledger", "payouts", "installments", "manual_payments")
MANUAL_NOTES = ("Paid at the depot counter.", "Customer brought the exact amount.", None, None, None)
EXPORT_ERRORS = ("Timed out generating the workbook.", "Storage upload failed: try again.")


def payout_id(provider: str, day: date) -> str:
    """The provider's payout of one day's payments: card payments go out through Stripe, transfers by bank."""
    return f"{'po' if provider == 'stripe' else 'bank'}_{day:%Y%m%d}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class PaymentsSeeder(Seeder):
    name = "payments"
    tables = (
        "public.manual_payments",
        "public.installment_schedules",
        "public.payout_reconciliations",
        "public.financial_exports",
        "public.financial_ledger",
    )
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        base = baseline_rows(ctx)
        users = ctx.shared["users"]
        finance, recorders = users["finance"], [*users["finance"], *users["admin"]]
        manual = self._manual_payments(ctx, base, recorders)
        yield Batch(
            "public.manual_payments",
            ("id", "booking_id", "customer_id", "payment_id", "amount", "currency", "method", "reference",
             "received_at", "status", "void_reason", "notes", "created_by", "created_at", "updated_at"),
            manual,
        )  # fmt: skip
        instalments = self._instalments(ctx, base)
        yield Batch(
            "public.installment_schedules",
            ("id", "booking_id", "customer_id", "installment_number", "due_date", "amount", "currency", "status",
             "payment_id", "paid_at", "created_at", "updated_at"),
            instalments,
        )  # fmt: skip
        payouts = self._payouts(ctx, base, finance)
        yield Batch(
            "public.payout_reconciliations",
            ("provider", "id", "payout_id", "payout_date", "expected_amount", "received_amount", "currency",
             "payment_count", "status", "reconciled_by", "reconciled_at", "notes", "created_at", "updated_at"),
            payouts,
        )  # fmt: skip
        ledger = self._ledger(ctx, base, payouts, finance)
        counted = {
            "payments": [p["created_at"].date() for p in base.payments],
            "ledger": [entry[9] for entry in ledger],
            "payouts": [payout[3] for payout in payouts],
            "installments": [instalment[4] for instalment in instalments],
            "manual_payments": [payment[8].date() for payment in manual],
        }
        yield Batch(
            "public.financial_exports",
            ("id", "export_type", "format", "period_start", "period_end", "status", "storage_path", "row_count",
             "error_message", "requested_by", "completed_at", "created_at"),
            # Super admins request exports too.
            self._exports(ctx, counted, [*recorders, *users["super_admin"]]),
        )  # fmt: skip
        yield Batch(
            "public.financial_ledger",
            ("id", "transaction_id", "booking_id", "payment_id", "account", "entry_type", "amount", "currency",
             "description", "effective_date", "created_by", "created_at"),
            ledger,
        )  # fmt: skip

    def _manual_payments(self, ctx: SeedContext, base: BaselineRows, recorders: list[Any]) -> list[tuple[Any, ...]]:
        """Cash and transfers entered by hand (applied), transfers and cheques not matched yet, voided slips."""
        rnd, now = ctx.random, ctx.now
        rows: list[tuple[Any, ...]] = []
        bookings = {b["id"]: b for b in base.bookings}
        for number, payment in enumerate(base.payments, start=1):
            booking = bookings[payment["booking_id"]]
            if payment["status"] == "succeeded" and payment["method"] != "card" and payment["paid_at"] <= now:
                received, method = payment["paid_at"], payment["method"]
                reference = f"RCPT-{number:06d}" if method == "cash" else f"BST-{received:%Y%m%d}-{number:05d}"
                rows.append(
                    (ctx.uuid(), booking["id"], booking["customer_id"], payment["id"], payment["amount"], "USD",
                     method, reference, received, "applied", None,
                     pick(rnd, MANUAL_NOTES) if method == "cash" else None, pick(rnd, recorders), received,
                     min(received + randint(rnd, 5, 240) * MINUTE, now))
                )  # fmt: skip
            elif payment["status"] == "pending" and booking["created_at"] <= now - DAY and rnd.random() < 0.4:
                received = between(rnd, booking["created_at"] + HOUR, now)
                cheque = rnd.random() < 0.3
                reference = f"CHQ-{randint(rnd, 100000, 999999)}" if cheque else f"BST-{received:%Y%m%d}-{number:05d}"
                recorded = min(received + randint(rnd, 5, 240) * MINUTE, now)
                rows.append(
                    (ctx.uuid(), booking["id"], booking["customer_id"], None, payment["amount"], "USD",
                     "cheque" if cheque else "bank_transfer", reference, received, "recorded", None,
                     "Waiting to be matched to the booking's transfer.", pick(rnd, recorders), recorded, recorded)
                )  # fmt: skip
        applied = [row for row in rows if row[9] == "applied"]
        for _ in range(ctx.count(VOIDED_PER_SCALE) if applied else 0):
            original = pick(rnd, applied)
            entered = min(original[13] + randint(rnd, 1, 48) * HOUR, now)
            if rnd.random() < 0.5:
                amount, reason = original[4], f"Duplicate of {original[7]}."
            else:
                amount, reason = original[4] * 10, "Amount keyed in wrong, entered again."
            rows.append(
                (ctx.uuid(), original[1], original[2], None, amount, "USD", original[6], original[7], original[8],
                 "voided", reason, None, original[12], entered, min(entered + randint(rnd, 1, 120) * MINUTE, now))
            )  # fmt: skip
        return rows

    def _instalments(self, ctx: SeedContext, base: BaselineRows) -> list[tuple[Any, ...]]:
        """Plans for larger bookings: the payments made so far, then the balance due in one to three parts."""
        rnd, now = ctx.random, ctx.now
        rows: list[tuple[Any, ...]] = []
        succeeded: dict[Any, list[dict[str, Any]]] = {}
        for payment in base.payments:
            if payment["status"] == "succeeded":
                succeeded.setdefault(payment["booking_id"], []).append(payment)
        for booking in base.bookings:
            if (
                booking["created_at"] > now
                or booking["status"] == "cancelled"
                or booking["total_amount"] < INSTALMENT_MIN_TOTAL
                or rnd.random() >= INSTALMENT_SHARE
            ):
                continue
            paid = sorted(succeeded.get(booking["id"], []), key=lambda p: p["paid_at"])
            balance = booking["balance_due"]
            parts = (randint(rnd, 1, 3) if paid else randint(rnd, 2, 3)) if balance > 0 else 0
            if len(paid) + parts < 2:
                continue
            customer, planned = booking["customer_id"], booking["created_at"]
            plan: list[tuple[Any, ...]] = []
            for payment in paid:
                plan.append(
                    (payment["paid_at"].date(), payment["amount"], "paid", payment["id"], payment["paid_at"], planned,
                     max(planned, payment["paid_at"]))
                )  # fmt: skip
            if parts:
                last_due = booking["starts_at"].date() - DAY
                if parts > 1 and rnd.random() < 0.25:  # first one part for the whole balance, later split
                    replanned = between(rnd, planned + HOUR, min(planned + 48 * HOUR, now, _midnight(last_due)))
                    plan.append((last_due, balance, "cancelled", None, None, planned, replanned))
                    planned = replanned
                first_due = min(planned.date() + 3 * DAY, last_due)
                step = (last_due - first_due) / max(parts - 1, 1)
                share = (balance / parts).quantize(CENT, rounding=ROUND_DOWN)
                for index in range(parts):
                    due = first_due + timedelta(days=(step * index).days)
                    amount = share if index < parts - 1 else balance - share * (parts - 1)
                    overdue = due < now.date()
                    updated = max(planned, _midnight(due + DAY)) if overdue else planned
                    plan.append((due, amount, "overdue" if overdue else "scheduled", None, None, planned, updated))
            for number, (due, amount, status, payment_id, paid_at, created, updated) in enumerate(plan, start=1):
                rows.append(
                    (ctx.uuid(), booking["id"], customer, number, due, amount, "USD", status, payment_id, paid_at,
                     created, updated)
                )  # fmt: skip
        return rows

    def _payouts(self, ctx: SeedContext, base: BaselineRows, finance: list[Any]) -> list[tuple[Any, ...]]:
        """One payout a day per channel: card payments through Stripe two days later, transfers the next day."""
        rnd, now = ctx.random, ctx.now
        rows: list[tuple[Any, ...]] = []
        days: dict[tuple[str, date], list[Decimal]] = {}
        for payment in base.payments:
            if payment["status"] == "succeeded" and payment["method"] != "cash" and payment["paid_at"] <= now:
                provider = "stripe" if payment["method"] == "card" else "bank"
                days.setdefault((provider, payment["paid_at"].date()), []).append(payment["amount"])
        for (provider, day), amounts in days.items():
            payout_date = day + (2 if provider == "stripe" else 1) * DAY
            arrived = _midnight(payout_date) + 9 * HOUR
            if arrived > now:
                continue
            expected = sum(amounts, Decimal(0))
            fee = min((expected * Decimal("0.029") + Decimal("0.30")).quantize(CENT), expected)
            if arrived > now - 2 * DAY:
                status = "pending"
            elif provider == "bank":
                status = "matched"
            else:
                status = rnd.choices(("matched", "discrepancy", "resolved"), weights=(75, 15, 10))[0]
            short = status in ("discrepancy", "resolved") or (status == "pending" and rnd.random() < 0.3)
            received = expected - fee if short and provider == "stripe" else expected
            reconciler, reconciled, notes = None, None, None
            if status in ("matched", "resolved"):
                reconciler = pick(rnd, finance)
                reconciled = between(rnd, arrived + HOUR, min(arrived + 3 * DAY, now))
            if status == "discrepancy":
                notes = f"Short by {expected - received}: asked Stripe for the payout breakdown."
            elif status == "resolved":
                notes = f"Processing fees of {expected - received} deducted by Stripe; booked as fees."
            updated = reconciled or (arrived + randint(rnd, 1, 6) * HOUR if notes else arrived)
            rows.append(
                (provider, ctx.uuid(), payout_id(provider, day), payout_date, expected, received, "USD", len(amounts),
                 status, reconciler, reconciled, notes, arrived, min(updated, now))
            )  # fmt: skip
        return rows

    def _ledger(
        self, ctx: SeedContext, base: BaselineRows, payouts: list[tuple[Any, ...]], finance: list[Any]
    ) -> list[tuple[Any, ...]]:
        """Double entry: a charge on confirmation, each payment, revenue on return, refunds, payouts."""
        rnd, now = ctx.random, ctx.now
        rows: list[tuple[Any, ...]] = []

        def post(at: datetime, description: str, legs, booking=None, payment=None) -> None:
            transaction, poster = ctx.uuid(), pick(rnd, finance)
            for account, entry_type, amount in legs:
                if amount > 0:
                    rows.append(
                        (ctx.uuid(), transaction, booking, payment, account, entry_type, amount, "USD", description,
                         at.date(), poster, at)
                    )  # fmt: skip

        payments: dict[Any, list[dict[str, Any]]] = {}
        for payment in base.payments:
            payments.setdefault(payment["booking_id"], []).append(payment)
        for booking in base.bookings:
            if booking["created_at"] > now or booking["status"] == "pending":
                continue
            booking_id, total = booking["id"], booking["total_amount"]
            if booking["status"] != "cancelled":
                post(
                    booking["created_at"],
                    "Rental charged on confirmation",
                    [("accounts_receivable", "debit", total), ("deferred_revenue", "credit", total)],
                    booking_id,
                )
            for payment in payments.get(booking_id, []):
                cash, amount, paid_at = CASH_ACCOUNT[payment["method"]], payment["amount"], payment["paid_at"]
                if payment["status"] == "succeeded" and paid_at <= now:
                    post(
                        paid_at,
                        f"Payment received ({payment['method']})",
                        [(cash, "debit", amount), ("accounts_receivable", "credit", amount)],
                        booking_id,
                        payment["id"],
                    )
                elif payment["status"] == "refunded" and paid_at <= now:
                    post(
                        paid_at,
                        "Prepayment received",
                        [(cash, "debit", amount), ("customer_deposits", "credit", amount)],
                        booking_id,
                        payment["id"],
                    )
                    refunded = between(rnd, paid_at + HOUR, max(paid_at + HOUR, min(booking["starts_at"], now)))
                    post(
                        refunded,
                        "Prepayment refunded on cancellation",
                        [("customer_deposits", "debit", amount), (cash, "credit", amount)],
                        booking_id,
                        payment["id"],
                    )
            if booking["status"] == "completed":
                post(
                    booking["ends_at"],
                    "Rental revenue recognised on return",
                    [("deferred_revenue", "debit", total), ("revenue.rental", "credit", total)],
                    booking_id,
                )
        for provider, _id, payout, _day, expected, received, _cur, _count, status, *_rest, arrived, _upd in payouts:
            if provider != "stripe":
                continue  # transfers were booked straight to the bank account
            difference = "expense.payment_fees" if status == "resolved" else "suspense.payout_differences"
            post(
                arrived,
                f"Stripe payout {payout}",
                [
                    ("cash.bank", "debit", received),
                    (difference, "debit", expected - received),
                    ("cash.stripe_clearing", "credit", expected),
                ],
            )
        return rows

    def _exports(
        self, ctx: SeedContext, counted: dict[str, list[date]], requesters: list[Any]
    ) -> list[tuple[Any, ...]]:
        """Monthly exports of the last three months, and this month's still running."""
        rnd, now = ctx.random, ctx.now
        rows: list[tuple[Any, ...]] = []
        month = now.date().replace(day=1)
        starts: list[date] = []
        for _ in range(3):
            month = (month - DAY).replace(day=1)
            starts.insert(0, month)
        for start in starts:
            end = (start + 32 * DAY).replace(day=1) - DAY
            for export_type in EXPORT_TYPES:
                if rnd.random() >= 0.6:
                    continue
                fmt = pick(rnd, ("csv", "csv", "xlsx", "json"))
                created = between(rnd, _midnight(end + DAY) + 6 * HOUR, min(_midnight(end + DAY) + 3 * DAY, now))
                if rnd.random() < 0.1:
                    rows.append(
                        (ctx.uuid(), export_type, fmt, start, end, "failed", None, None, pick(rnd, EXPORT_ERRORS),
                         pick(rnd, requesters), None, created)
                    )  # fmt: skip
                    continue
                count = sum(1 for day in counted[export_type] if start <= day <= end)
                rows.append(
                    (ctx.uuid(), export_type, fmt, start, end, "completed",
                     f"exports/{export_type}/{start:%Y-%m}.{fmt}", count, None, pick(rnd, requesters),
                     min(created + randint(rnd, 1, 20) * MINUTE, now), created)
                )  # fmt: skip
        for status in ("pending", "processing"):
            created = between(rnd, now - 2 * HOUR, now)
            rows.append(
                (ctx.uuid(), pick(rnd, EXPORT_TYPES), "csv", now.date().replace(day=1), now.date(), status, None, None,
                 None, pick(rnd, requesters), None, created)
            )  # fmt: skip
        return rows
