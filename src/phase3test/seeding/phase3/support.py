"""Support conversations on the baseline's tickets, reply templates, and insurance follow-up.

Tickets come from the baseline, which also gets their SLA due dates from the
migration's trigger (support_sla is filled by the migration itself: this
seeder adds no row to it). Each ticket opened before `ctx.now` gets a thread:
the first staff answer (mostly within the priority's first-response target),
customer replies, internal staff notes, and a closing answer for resolved and
closed tickets; every message after the ticket was opened and before
`ctx.now`. Each message goes to its recipients: the customer (e-mail, in-app)
for staff answers, the assigned admin for customer replies, another admin for
internal notes. Insurance documents get an activity trail (upload, requests
for information, review) and reminders (missing information, expiry,
renewal), a sent reminder leaving a `reminder_sent` activity.

Invariants the tests check: SLA due dates are the ticket's created_at plus
its priority's targets; messages come after their ticket was opened;
authors are the ticket's customer or staff, and a customer never writes an
internal note; a recipient is never the author, a customer never receives
an internal note, and delivery times follow one another; insurance activity
follows the document's upload and comes from its customer or staff; a
reminder is scheduled after it was made, a sent one was sent once due.

Tickets and documents are the rows the baseline loaded (`SeedContext.rows`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from phase3test.seeding.model import Batch, SeedContext, Seeder

# The migration's support_sla rows: (first response within, resolution within).
SLA = {
    "urgent": (timedelta(hours=1), timedelta(hours=4)),
    "high": (timedelta(hours=4), timedelta(hours=24)),
    "normal": (timedelta(hours=24), timedelta(hours=72)),
    "low": (timedelta(hours=72), timedelta(days=7)),
}
TEMPLATES = (
    ("Delivery delay apology", "delivery", "Your delivery is running late"),
    ("Booking change confirmed", "booking", "Your booking has been updated"),
    ("Damage report received", "damage", "We received your damage report"),
    ("Refund processed", "billing", "Your refund is on its way"),
    ("Invoice copy", "billing", "A copy of your invoice"),
    ("Insurance certificate needed", "insurance", "We need your insurance certificate"),
    ("Operating instructions", "equipment", "How to operate your rental"),
    ("Ticket resolved", "general", "Your request has been resolved"),
)
STAFF_OPENERS = ("Thanks for reaching out.", "Sorry for the trouble.", "Good news:", "Following up on your request:")
CUSTOMER_OPENERS = ("Thanks for the quick reply.", "That did not fix it.", "One more question:", "Update from site:")
NOTE_OPENERS = ("Internal:", "Checked with the yard:", "Escalating:", "Billing says:")
CLOSERS = ("This is now resolved.", "Closing this ticket, reply to reopen.", "Glad we could help.")
INFO_REQUESTS = ("Policy number missing", "Certificate holder name does not match", "Coverage amount unreadable")
REJECTIONS = ("Coverage below the required minimum", "Policy expired before the rental starts", "Wrong insured party")


class SupportSeeder(Seeder):
    name = "support"
    tables = (
        "public.support_messages",
        "public.support_message_recipients",
        "public.support_templates",
        "public.insurance_activity",
        "public.insurance_reminders",
    )
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        tickets, documents = ctx.rows("public.support_tickets"), ctx.rows("public.insurance_documents")
        staff = ctx.shared["users"]["admin"] + ctx.shared["users"]["super_admin"]
        pools = {
            "staff": [f"{ctx.random.choice(STAFF_OPENERS)} {ctx.faker.sentence(nb_words=14)}" for _ in range(30)],
            "customer": [f"{ctx.random.choice(CUSTOMER_OPENERS)} {ctx.faker.sentence(nb_words=12)}" for _ in range(30)],
            "note": [f"{ctx.random.choice(NOTE_OPENERS)} {ctx.faker.sentence(nb_words=10)}" for _ in range(20)],
            "closer": [f"{closer} {ctx.faker.sentence(nb_words=8)}" for closer in CLOSERS for _ in range(4)],
        }
        messages, recipients = self._threads(ctx, tickets, staff, pools)
        yield Batch(
            "public.support_messages", ("id", "ticket_id", "author_id", "body", "is_internal", "created_at"), messages
        )
        yield Batch(
            "public.support_message_recipients",
            ("id", "message_id", "recipient_id", "channel", "status", "sent_at", "read_at", "created_at"),
            recipients,
        )
        yield Batch(
            "public.support_templates",
            ("id", "name", "category", "subject", "body", "is_active", "created_by", "created_at", "updated_at"),
            list(self._templates(ctx, staff)),
        )
        activity, reminders = self._insurance(ctx, documents, staff)
        yield Batch(
            "public.insurance_activity",
            ("id", "insurance_document_id", "actor_id", "action", "details", "created_at"),
            activity,
        )
        yield Batch(
            "public.insurance_reminders",
            ("id", "insurance_document_id", "kind", "channel", "scheduled_for", "status", "sent_at", "created_at"),
            reminders,
        )
        ctx.shared["support_messages"] = [m[0] for m in messages]

    def _threads(
        self, ctx: SeedContext, tickets: list[dict[str, Any]], staff: list[Any], pools: dict[str, list[str]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        messages: list[tuple[Any, ...]] = []
        recipients: list[tuple[Any, ...]] = []
        rand, choice, now = ctx.random.random, ctx.random.choice, ctx.now

        def deliver(message: tuple[Any, ...], recipient: Any, channel: str) -> None:
            created = message[5]
            sent = created + timedelta(seconds=int(rand() * 120) + 1)
            draw = rand()
            if sent > now:
                status, sent, read = "pending", None, None
            elif draw < 0.05:
                status, sent, read = "failed", None, None
            elif draw < 0.2:
                status, read = "sent", None
            else:
                read = sent + timedelta(minutes=int(rand() * 600) + 1)
                status = "read" if draw >= 0.45 and read <= now else "delivered"
                read = read if status == "read" else None
            recipients.append((ctx.uuid(), message[0], recipient, channel, status, sent, read, created))

        for ticket in tickets:
            opened = ticket["created_at"]
            if opened >= now:
                continue  # opened after the reference instant: nothing said yet
            customer, assignee = ticket["customer_id"], ticket["assigned_to"] or choice(staff)
            first_within, resolve_within = SLA[ticket["priority"]]
            at = opened + first_within * (0.05 + rand() * (1.3 if rand() < 0.15 else 0.9))
            closing = ticket["status"] in ("resolved", "closed")
            # The exchange: staff answer, then customer and staff in turn, notes in between.
            turns = ["staff"] + ["customer", "staff"] * (
                ctx.random.randint(0, 2) if closing else ctx.random.randint(0, 1)
            )
            if rand() < 0.35:
                turns.insert(ctx.random.randint(1, len(turns)), "note")
            if closing:
                turns.append("closer")
            step = resolve_within / (len(turns) + 1)
            for turn in turns:
                if at >= now:
                    break
                author = customer if turn == "customer" else (choice(staff) if turn == "note" else assignee)
                message = (ctx.uuid(), ticket["id"], author, choice(pools[turn]), turn == "note", at)
                messages.append(message)
                if turn == "note":
                    deliver(message, choice([s for s in staff if s != author]), "in_app")
                elif turn == "customer":
                    deliver(message, assignee, "in_app")
                    if rand() < 0.3:
                        deliver(message, assignee, "email")
                else:
                    deliver(message, customer, "email")
                    if rand() < 0.5:
                        deliver(message, customer, "in_app")
                at += step * (0.2 + rand() * 0.8)
        return messages, recipients

    def _templates(self, ctx: SeedContext, staff: list[Any]) -> Iterator[tuple[Any, ...]]:
        for index in range(ctx.count(len(TEMPLATES))):
            name, category, subject = TEMPLATES[index % len(TEMPLATES)]
            version = index // len(TEMPLATES)
            created = ctx.now - timedelta(days=ctx.random.randint(30, 290), hours=ctx.random.randint(0, 23))
            updated = created + (ctx.now - created) * ctx.random.random() if ctx.random.random() < 0.5 else created
            body = f"Hello {{{{customer_name}}}},\n\n{subject}. {ctx.faker.sentence(nb_words=16)}\n\nThe rental team"
            yield (
                ctx.uuid(), name if version == 0 else f"{name} (v{version + 1})", category, subject, body,
                ctx.random.random() < 0.85, ctx.random.choice(staff), created, updated,
            )  # fmt: skip

    def _insurance(
        self, ctx: SeedContext, documents: list[dict[str, Any]], staff: list[Any]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        activity: list[tuple[Any, ...]] = []
        reminders: list[tuple[Any, ...]] = []
        rand, now = ctx.random.random, ctx.now

        def act(document: dict[str, Any], actor: Any, action: str, details: str | None, at: datetime) -> None:
            activity.append((ctx.uuid(), document["id"], actor, action, details, at))

        def remind(document: dict[str, Any], kind: str, channel: str, due: datetime, made: datetime) -> None:
            sent: datetime | None
            if due <= now:
                sent = min(due + timedelta(seconds=int(rand() * 300)), now)
                status = "failed" if channel == "sms" and rand() < 0.2 else "sent"
                if status == "sent":
                    act(document, None, "reminder_sent", f"{kind.replace('_', ' ')} reminder by {channel}", sent)
                else:
                    sent = None
            else:
                status, sent = "scheduled", None
            reminders.append((ctx.uuid(), document["id"], kind, channel, due, status, sent, made))

        for document in documents:
            uploaded, customer, status = document["created_at"], document["customer_id"], document["status"]
            act(document, customer, "uploaded", "Liability certificate uploaded", uploaded)
            if uploaded >= now:
                continue  # uploaded after the reference instant: nothing else has happened yet
            # Events spread over at most five days after the upload, never past now.
            span = min(now - uploaded, timedelta(days=5))
            moments = iter(sorted(uploaded + span * (0.02 + 0.96 * rand()) for _ in range(4)))
            reviewer = ctx.random.choice(staff)
            asked = status == "pending" or (status == "approved" and rand() < 0.3)
            if asked:
                requested = next(moments)
                act(document, reviewer, "info_requested", ctx.random.choice(INFO_REQUESTS), requested)
                provided = next(moments) if status == "approved" or rand() < 0.3 else None
                if provided:
                    act(document, customer, "info_provided", "Updated certificate attached", provided)
                elif status == "pending":
                    for days in (2, 5):
                        remind(document, "missing_info", ctx.random.choice(("email", "sms")),
                               requested + timedelta(days=days), requested)  # fmt: skip
            if status == "approved":
                approved = next(moments)
                act(document, reviewer, "approved", None, approved)
                expires = datetime.combine(document["expires_on"], time(9), tzinfo=UTC)
                remind(document, "renewal", "email", expires - timedelta(days=60), approved)
                for days in (30, 7):
                    remind(document, "expiry", "email", expires - timedelta(days=days), approved)
            elif status == "rejected":
                act(document, reviewer, "rejected", ctx.random.choice(REJECTIONS), next(moments))
            if rand() < 0.15:
                act(document, ctx.random.choice(staff), "note", "Checked with the insurer by phone", next(moments))
        return activity, reminders
