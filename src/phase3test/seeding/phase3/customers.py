"""Customers and communications: tags and their members, notes, consent, campaign audiences and a timeline.

Invariants the tests check: every row is dated after its customer joined and
no later than `ctx.now`; a tag member joins after the tag exists; granted
consent has a grant date and no withdrawal, withdrawn consent was withdrawn
after it was granted (or never granted at all), and every customer grants
service e-mail; a campaign timeline event only reaches a member of the
audience's tag who granted marketing consent on the audience's channel
before it; every note, tagging and consent change is on the timeline; a
booking's timeline events belong to the booking's own customer and happen
after the booking was made (at least two days before its start): started,
paid in full by the start (its succeeded payments add up to its total),
completed, or cancelled the day before the start and refunded.

Shares `customer_tags` [ids] and `customer_tag_members` {tag id: [customer
ids]} for the promotions seeder's tag segments.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder

# Every seeded user joined in 2024 (UsersSeeder), so CRM history starts here.
HISTORY_START = datetime(2025, 1, 1, tzinfo=UTC)
TAGS = (
    ("VIP", "Top spenders: call before changing anything"),
    ("Contractor", "Builds for a living"),
    ("Homeowner", "Occasional do-it-yourself rentals"),
    ("Event planner", "Generators and lifts for events"),
    ("Fleet account", "Invoiced monthly"),
    ("Municipal", "Public sector, purchase orders only"),
    ("Late payer", "Paid late at least twice"),
    ("Seasonal", "Rents mostly in spring and summer"),
    ("Landscaper", "Compactors and loaders"),
    ("Referral", "Came through a referral"),
)
TAGS_FIXED, TAGS_PER_SCALE = 6, 2
AUDIENCES_FIXED, AUDIENCES_PER_SCALE = 2, 2
CHANNELS = ("email", "sms", "phone", "post", "push")
PURPOSES = ("marketing", "service", "surveys")
CONSENT_SOURCES = ("signup form", "checkout", "support call", "preference center", "import")
NOTES = (
    "Prefers morning deliveries.",
    "Asked for an operator on the next excavator rental.",
    "Site gate code changes weekly: call ahead.",
    "Pays by bank transfer; send invoices to accounts payable.",
    "Returned the machine clean and fuelled. Good customer.",
    "Disputed a fuel surcharge once; resolved with a credit.",
    "Interested in a long-term rental for a spring project.",
    "Needs a certificate of insurance before each delivery.",
)
NOTE_POOL_FAKER = 24
DAY = timedelta(days=1)


class CustomersSeeder(Seeder):
    name = "customers"
    tables = (
        "public.customer_tags",
        "public.customer_tag_members",
        "public.customer_notes",
        "public.customer_consent",
        "public.campaign_audiences",
        "public.customer_timeline_events",
    )
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        users = ctx.shared["users"]
        customers = users["customer"]
        admins = users["admin"] + users["super_admin"]
        marketers = users["marketing"]
        rand, uuid = ctx.random.random, ctx.uuid
        timeline: list[tuple[Any, ...]] = []

        def between(start: datetime, end: datetime) -> datetime:
            return start + timedelta(seconds=int(rand() * (end - start).total_seconds()))

        # Tags ------------------------------------------------------------------
        tags = []
        for index in range(TAGS_FIXED + ctx.count(TAGS_PER_SCALE)):
            label, description = TAGS[index % len(TAGS)]
            name = label if index < len(TAGS) else f"{label} {index // len(TAGS) + 1}"
            created = between(HISTORY_START, HISTORY_START + timedelta(days=120))
            color = f"#{ctx.random.getrandbits(24):06x}"
            tags.append((uuid(), name, description, color, ctx.random.choice(admins), created, created))
        yield Batch(
            "public.customer_tags",
            ("id", "name", "description", "color", "created_by", "created_at", "updated_at"),
            tags,
        )

        members = []
        by_tag: dict[Any, list[Any]] = {tag[0]: [] for tag in tags}
        tagged: dict[Any, list[tuple[Any, datetime]]] = {}
        for customer in customers:
            roll = rand()
            how_many = 0 if roll < 0.3 else 1 if roll < 0.7 else 2 if roll < 0.95 else 3
            for tag in ctx.random.sample(tags, how_many):
                added_by, added = ctx.random.choice(admins), between(tag[5], ctx.now)
                members.append((uuid(), tag[0], customer, added_by, added))
                by_tag[tag[0]].append(customer)
                tagged.setdefault(customer, []).append((tag[0], added))
                timeline.append(
                    (uuid(), customer, "account", f"Tagged {tag[1]}", Jsonb({"tag_id": str(tag[0])}),
                     added_by, added, added)
                )  # fmt: skip
        yield Batch("public.customer_tag_members", ("id", "tag_id", "customer_id", "added_by", "created_at"), members)
        ctx.shared["customer_tags"] = [tag[0] for tag in tags]
        ctx.shared["customer_tag_members"] = by_tag

        # Internal notes ----------------------------------------------------------
        bodies = NOTES + tuple(ctx.faker.paragraph(nb_sentences=2) for _ in range(NOTE_POOL_FAKER))
        notes = []
        for customer in customers:
            roll = rand()
            for _ in range(0 if roll < 0.35 else 1 if roll < 0.7 else 2 if roll < 0.9 else 3):
                author, created = ctx.random.choice(admins), between(HISTORY_START, ctx.now)
                updated = min(created + timedelta(days=int(rand() * 10)), ctx.now) if rand() < 0.3 else created
                notes.append((uuid(), customer, author, ctx.random.choice(bodies), rand() < 0.1, created, updated))
                timeline.append(
                    (uuid(), customer, "note", "Internal note added", Jsonb({"note_id": str(notes[-1][0])}),
                     author, created, created)
                )  # fmt: skip
        yield Batch(
            "public.customer_notes",
            ("id", "customer_id", "author_id", "body", "is_pinned", "created_at", "updated_at"),
            notes,
        )

        # Consent: service email for everyone, a few other channels and purposes --
        usual = [("email", "service"), ("email", "marketing")]
        combos = [(c, p) for c in CHANNELS for p in PURPOSES if (c, p) not in usual]
        consent = []
        granted: dict[tuple[Any, str], datetime] = {}  # (customer, channel) -> marketing granted at
        for customer in customers:
            chosen = usual if rand() < 0.7 else usual[:1]
            for channel, purpose in [*chosen, *ctx.random.sample(combos, int(rand() * 4))]:
                created = between(HISTORY_START, ctx.now - timedelta(days=30))
                source, roll = ctx.random.choice(CONSENT_SOURCES), rand()
                if purpose == "service" or roll < 0.6:
                    status, granted_at, withdrawn_at = "granted", between(created, created + DAY), None
                    if purpose == "marketing":
                        granted[customer, channel] = granted_at
                elif roll < 0.8:
                    status, granted_at = "withdrawn", between(created, created + DAY)
                    withdrawn_at = between(granted_at + timedelta(hours=1), ctx.now)
                else:
                    status, granted_at, withdrawn_at = "withdrawn", None, None
                updated = withdrawn_at or granted_at or created
                consent.append(
                    (uuid(), customer, channel, purpose, status, source, granted_at, withdrawn_at, created, updated)
                )
                for at, verb in ((granted_at, "granted"), (withdrawn_at, "withdrawn")):
                    if at is not None:
                        timeline.append(
                            (uuid(), customer, "consent", f"{purpose.capitalize()} {channel} consent {verb}",
                             Jsonb({"channel": channel, "purpose": purpose, "status": verb, "source": source}),
                             customer, at, at)
                        )  # fmt: skip
        yield Batch(
            "public.customer_consent",
            ("id", "customer_id", "channel", "purpose", "status", "source", "granted_at", "withdrawn_at",
             "created_at", "updated_at"),
            consent,
        )  # fmt: skip

        # Campaign audiences, and who an active one reached -----------------------
        audiences = []
        seasons = ("spring", "summer", "autumn", "winter")
        for index in range(AUDIENCES_FIXED + ctx.count(AUDIENCES_PER_SCALE)):
            picked = ctx.random.choice(tags) if rand() < 0.8 else None
            channel = ctx.random.choice(("email", "email", "sms", "push", "post"))
            status = ctx.random.choice(("draft", "active", "active", "archived"))
            if index == 0:  # the newsletter: e-mail to the tag with the most members who opted in
                channel, status = "email", "active"
                picked = max(tags, key=lambda t: sum((c, "email") in granted for c in by_tag[t[0]]))
            season = seasons[index % len(seasons)]
            label = picked[1] if picked else "Returning renters"
            name = f"{label}, {season} {channel} #{index + 1}"
            criteria = {"consent_purpose": "marketing", "min_bookings": ctx.random.randint(0, 3)}
            created = between(picked[5] if picked else HISTORY_START, ctx.now - timedelta(days=20))
            updated = between(created, ctx.now)
            audiences.append(
                (uuid(), name, f"{label} who opted in to {channel} offers", channel, picked[0] if picked else None,
                 Jsonb(criteria), status, ctx.random.choice(marketers), created, updated)
            )  # fmt: skip
            if status != "active" or picked is None:
                continue
            for customer in by_tag[picked[0]]:
                consented = granted.get((customer, channel))
                if consented is None:
                    continue
                joined = next(at for tag_id, at in tagged[customer] if tag_id == picked[0])
                at = between(max(created, consented, joined), ctx.now)
                timeline.append(
                    (uuid(), customer, "campaign", f"Reached by audience {name}",
                     Jsonb({"audience_id": str(audiences[-1][0]), "channel": channel}),
                     audiences[-1][7], at, at)
                )  # fmt: skip
        yield Batch(
            "public.campaign_audiences",
            ("id", "name", "description", "channel", "customer_tag_id", "criteria", "status", "created_by",
             "created_at", "updated_at"),
            audiences,
        )  # fmt: skip

        # The timeline: the above, plus bookings and payments as they happened ---
        timeline.extend(self._booking_events(ctx))
        yield Batch(
            "public.customer_timeline_events",
            ("id", "customer_id", "kind", "summary", "details", "actor_id", "occurred_at", "created_at"),
            timeline,
        )

    def _booking_events(self, ctx: SeedContext) -> Iterator[tuple[Any, ...]]:
        """Rentals that started, ended or were cancelled by now, paid in full by their start, refunds.

        A booking is made at least two days before it starts, so a cancellation
        the day before the start comes after it (and its refund an hour later);
        a started booking's succeeded payments add up to its total by the start.
        """
        uuid = ctx.uuid
        customers = set(ctx.shared["users"]["customer"])  # the timeline is the customers' (staff rent too)
        paid: dict[Any, list[Any]] = {}
        refunds: dict[Any, Any] = {}
        for payment in ctx.shared["payments"]:
            if payment["status"] == "succeeded":
                paid.setdefault(payment["booking_id"], []).append(payment)
            elif payment["status"] == "refunded":
                refunds[payment["booking_id"]] = payment
        for booking in ctx.shared["bookings"]:
            if booking["customer_id"] not in customers:
                continue
            booking_id, customer, status = booking["id"], booking["customer_id"], booking["status"]
            starts, ends = booking["starts_at"], booking["ends_at"]
            details = Jsonb({"booking_id": str(booking_id), "equipment_id": str(booking["equipment_id"])})
            if status in ("active", "completed"):
                yield (uuid(), customer, "booking", "Rental started", details, None, starts, starts)
                if booking_id in paid:
                    total = sum(p["amount"] for p in paid[booking_id])
                    money = Jsonb({"booking_id": str(booking_id), "amount": str(total),
                                   "payment_ids": [str(p["id"]) for p in paid[booking_id]]})  # fmt: skip
                    yield (uuid(), customer, "payment", f"Paid in full: {total} USD", money, None, starts, starts)
            if status == "completed":
                yield (uuid(), customer, "booking", "Rental completed", details, None, ends, ends)
            elif status == "cancelled":
                at = starts - DAY
                yield (uuid(), customer, "booking", "Booking cancelled", details, customer, at, at)
                if booking_id in refunds:
                    refund, at = refunds[booking_id], at + timedelta(hours=1)
                    money = Jsonb({"booking_id": str(booking_id), "amount": str(refund["amount"]),
                                   "payment_ids": [str(refund["id"])]})  # fmt: skip
                    summary = f"Refund of {refund['amount']} USD issued"
                    yield (uuid(), customer, "payment", summary, money, None, at, at)
