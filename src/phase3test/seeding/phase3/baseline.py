"""The platform's core data: equipment, bookings with their payments, and what hangs off them.

Invariants the tests check: bookings of one machine never overlap; a
booking's succeeded payments never exceed its total, and for completed and
active bookings they add up to it exactly; `balance_due` and
`billing_status` agree with those payments; every delivery, ticket,
document and contract belongs to the booking's own customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder

EQUIPMENT_PER_SCALE = 8
CATEGORIES = {
    "excavators": ("Mini excavator", Decimal("180.00")),
    "lifts": ("Scissor lift", Decimal("95.00")),
    "loaders": ("Skid steer loader", Decimal("150.00")),
    "compaction": ("Plate compactor", Decimal("45.00")),
    "generators": ("Diesel generator", Decimal("70.00")),
}
WINDOW_BACK, WINDOW_AHEAD = timedelta(days=60), timedelta(days=30)
# Bookings made before itemised pricing went live have no breakdown: the
# Phase 3 bookings migration adds the column without backfilling old rows.
ITEMISED_PRICING_AGE = timedelta(days=30)
STAFF_WHO_RENT = ("finance", "marketing", "security", "pricing_service")
CENT = Decimal("0.01")


class BaselineSeeder(Seeder):
    name = "baseline"
    tables = (
        "public.equipment",
        "public.bookings",
        "public.payments",
        "public.delivery_assignments",
        "public.support_tickets",
        "public.insurance_documents",
        "public.contract_templates",
        "public.contracts",
        "public.system_settings",
    )
    depends_on = ("users",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        # Staff rent too: the first user of each staff role whose policies do not open every customer's rows
        # books like a customer, so "own rows versus someone else's" can be checked for those roles as well.
        renters = ctx.shared["users"]["customer"] + [ctx.shared["users"][role][0] for role in STAFF_WHO_RENT]
        admins = ctx.shared["users"]["admin"]
        equipment = list(self._equipment(ctx))
        yield Batch(
            "public.equipment",
            ("id", "name", "category", "serial_number", "status", "daily_rate", "location", "created_at", "updated_at"),
            equipment,
        )
        bookings = [b for machine in equipment for b in self._bookings(ctx, machine, renters)]
        payments = [p for booking in bookings for p in self._payments(ctx, booking)]
        paid: dict[Any, Decimal] = {}
        for payment in payments:
            if payment[5] == "succeeded":
                paid[payment[1]] = paid.get(payment[1], Decimal(0)) + payment[3]
        yield Batch(
            "public.bookings",
            (
                "id",
                "customer_id",
                "equipment_id",
                "starts_at",
                "ends_at",
                "status",
                "total_amount",
                "created_at",
                "updated_at",
                "balance_due",
                "billing_status",
                "billing_status_updated_at",
                "pricing_breakdown",
            ),
            [
                (
                    *booking,
                    booking[6] - paid.get(booking[0], Decimal(0)),
                    _billing_status(booking[6], paid.get(booking[0], Decimal(0))),
                    booking[7],
                    Jsonb({"days": (booking[4] - booking[3]).days, "total": str(booking[6])})
                    if booking[7] >= ctx.now - ITEMISED_PRICING_AGE
                    else None,
                )
                for booking in bookings
            ],
        )
        yield Batch(
            "public.payments",
            ("id", "booking_id", "customer_id", "amount", "method", "status", "paid_at", "created_at"),
            payments,
        )
        ctx.shared["equipment"] = [machine[0] for machine in equipment]
        ctx.shared["bookings"] = [
            {"id": b[0], "customer_id": b[1], "equipment_id": b[2], "starts_at": b[3], "ends_at": b[4], "status": b[5]}
            for b in bookings
        ]
        ctx.shared["payments"] = [
            {"id": p[0], "booking_id": p[1], "customer_id": p[2], "amount": p[3], "status": p[5]} for p in payments
        ]
        yield from self._around_bookings(ctx, bookings, admins)

    def _equipment(self, ctx: SeedContext) -> Iterator[tuple[Any, ...]]:
        categories = list(CATEGORIES)
        cities = [ctx.faker.city() for _ in range(25)]
        for index in range(ctx.count(EQUIPMENT_PER_SCALE)):
            category = categories[index % len(categories)]
            label, rate = CATEGORIES[category]
            created = ctx.now - timedelta(days=400 + ctx.random.randint(0, 300))
            status = "maintenance" if ctx.random.random() < 0.05 else "available"
            yield (
                ctx.uuid(), f"{label} #{index + 1}", category, f"{category[:2].upper()}-{index + 1:07d}", status,
                rate, ctx.random.choice(cities), created, created,
            )  # fmt: skip

    def _bookings(self, ctx: SeedContext, machine: tuple[Any, ...], renters: list[Any]) -> Iterator[tuple[Any, ...]]:
        """Back to back with gaps, so one machine's bookings never overlap."""
        cursor = (ctx.now - WINDOW_BACK).replace(hour=8, minute=0)
        end_of_window = ctx.now + WINDOW_AHEAD
        while True:
            starts = cursor + timedelta(days=ctx.random.randint(0, 4))
            ends = starts + timedelta(days=ctx.random.randint(1, 7))
            if ends > end_of_window:
                return
            cursor = ends
            if ends <= ctx.now:
                status = "cancelled" if ctx.random.random() < 0.1 else "completed"
            elif starts <= ctx.now:
                status = "active"
            else:
                status = "pending" if ctx.random.random() < 0.25 else "confirmed"
            created = starts - timedelta(days=ctx.random.randint(2, 20), hours=ctx.random.randint(0, 23))
            total = machine[5] * (ends - starts).days
            yield (ctx.uuid(), ctx.random.choice(renters), machine[0], starts, ends, status, total, created, created)

    def _payments(self, ctx: SeedContext, booking: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        booking_id, customer, _machine, starts, _ends, status, total, created = booking[:8]
        method = ctx.random.choice(("card", "card", "card", "bank_transfer", "cash"))
        if status in ("completed", "active"):
            if total > 100 and ctx.random.random() < 0.4:  # a deposit, then the rest
                deposit = (total * Decimal("0.3")).quantize(CENT)
                yield (ctx.uuid(), booking_id, customer, deposit, method, "succeeded", created, created)
                yield (ctx.uuid(), booking_id, customer, total - deposit, method, "succeeded", starts, starts)
            else:
                yield (ctx.uuid(), booking_id, customer, total, method, "succeeded", created, created)
        elif status == "confirmed" and total > 0 and ctx.random.random() < 0.5:
            deposit = (total * Decimal("0.3")).quantize(CENT)
            yield (ctx.uuid(), booking_id, customer, deposit, method, "succeeded", created, created)
        elif status == "cancelled" and total > 0 and ctx.random.random() < 0.5:
            yield (ctx.uuid(), booking_id, customer, total, "card", "refunded", created, created)
        elif status == "pending" and total > 0:
            yield (ctx.uuid(), booking_id, customer, total, "bank_transfer", "pending", None, created)

    def _around_bookings(self, ctx: SeedContext, bookings: list[tuple[Any, ...]], admins: list[Any]) -> Iterator[Batch]:
        served = [b for b in bookings if b[5] in ("completed", "active", "confirmed")]
        addresses = [ctx.faker.street_address() for _ in range(40)]
        subjects = [ctx.faker.sentence(nb_words=5) for _ in range(30)]
        bodies = [ctx.faker.paragraph() for _ in range(30)]
        deliveries = []
        for booking_id, _customer, _machine, starts, ends, status, *_ in served:
            address = ctx.random.choice(addresses)
            pickup_status = "completed" if status == "completed" else "scheduled"
            delivery_status = "scheduled" if status == "confirmed" else "completed"
            deliveries.append(
                (ctx.uuid(), booking_id, "delivery", starts - timedelta(hours=2), delivery_status, address, starts)
            )
            deliveries.append((ctx.uuid(), booking_id, "pickup", ends, pickup_status, address, starts))
        yield Batch(
            "public.delivery_assignments",
            ("id", "booking_id", "kind", "scheduled_for", "status", "address", "created_at"),
            deliveries,
        )
        ticketed = [b for b in bookings if ctx.random.random() < 0.15]
        tickets = []
        for booking_id, customer, _machine, starts, *_ in ticketed:
            opened = starts + timedelta(hours=ctx.random.randint(1, 48))
            status = "open" if opened > ctx.now - timedelta(days=3) else ctx.random.choice(("resolved", "closed"))
            priority = ctx.random.choice(("low", "normal", "normal", "high", "urgent"))
            tickets.append(
                (ctx.uuid(), customer, booking_id, ctx.random.choice(subjects), ctx.random.choice(bodies),
                 status, priority, ctx.random.choice(admins), opened, opened)
            )  # fmt: skip
        yield Batch(
            "public.support_tickets",
            ("id", "customer_id", "booking_id", "subject", "body", "status", "priority", "assigned_to",
             "created_at", "updated_at"),
        tickets,
        )  # fmt: skip
        documents = []
        for booking_id, customer, _machine, starts, *_ in [b for b in served if ctx.random.random() < 0.3]:
            status = ctx.random.choice(("pending", "approved", "approved", "rejected"))
            expires = (starts + timedelta(days=365)).date()
            documents.append(
                (ctx.uuid(), customer, booking_id, "liability", f"insurance/{customer}/{booking_id}.pdf",
                 status, expires, starts - timedelta(days=3))
            )  # fmt: skip
        yield Batch(
            "public.insurance_documents",
            ("id", "customer_id", "booking_id", "document_type", "storage_path", "status", "expires_on", "created_at"),
            documents,
        )
        written = ctx.now - timedelta(days=500)
        templates = [
            (ctx.uuid(), name, f"{name}: the renter agrees to ...", True, written, written)
            for name in ("Standard rental", "Long-term rental", "Operator included")
        ]
        yield Batch(
            "public.contract_templates", ("id", "name", "body", "is_active", "created_at", "updated_at"), templates
        )
        contracts = [
            (ctx.uuid(), booking_id, customer, ctx.random.choice(templates)[0],
             "signed" if status != "confirmed" else "sent",
             created if status != "confirmed" else None, created)
            for booking_id, customer, _machine, _starts, _ends, status, _total, created, *_ in served
        ]  # fmt: skip
        yield Batch(
            "public.contracts",
            ("id", "booking_id", "customer_id", "template_id", "status", "signed_at", "created_at"),
            contracts,
        )
        ctx.shared["tickets"] = [t[0] for t in tickets]
        ctx.shared["insurance_documents"] = [d[0] for d in documents]
        ctx.shared["contract_templates"] = [t[0] for t in templates]
        ctx.shared["contracts"] = [c[0] for c in contracts]
        yield Batch(
            "public.system_settings",
            ("key", "value", "description", "requires_approval", "updated_at"),
            [  # money moves with the deposit ratio: changing it takes a second admin's approval
                ("booking.max_days", Jsonb(30), "Longest booking a customer can make online", False, ctx.now),
                ("booking.deposit_ratio", Jsonb(0.3), "Share of the total taken as deposit", True, ctx.now),
                ("support.auto_close_days", Jsonb(14), "Resolved tickets close after this many days", False, ctx.now),
            ],
        )


def _billing_status(total: Decimal, paid: Decimal) -> str:
    if paid >= total:
        return "paid"
    return "partially_paid" if paid > 0 else "unpaid"
