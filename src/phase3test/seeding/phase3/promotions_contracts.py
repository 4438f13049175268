"""Promotions (rules, their conditions, actions and segments, redemptions, daily analytics) and contract paperwork.

Invariants the tests check. Promotions: a rule never has more live
('redeemed') redemptions than its max_redemptions (the migration's trigger
refuses one more); a booking redeems at most one promotion, for its own
customer, while the rule ran (never a draft), after the booking was made and
by its start, and only if the booking meets the rule's conditions and
segment; a cancelled booking's redemption is 'reversed'; the discount never
exceeds the booking's total; each finished day's analytics add up that day's
live redemptions. Contracts: every baseline template has a published
version 1 of its body; every contract has its customer as first signer (the
user's own name and e-mail); a signed contract was signed in person by all
its signers at its signed_at, a sent one by none; each contract has its
`created` event at its creation, a sent one its `sent` event; every view,
signature and delivered reminder is an event, by `ctx.now`; reminders go to
unsigned signers before the rental starts.

Contracts, templates and signers' names and e-mails are the rows earlier
seeders loaded (`SeedContext.rows`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder, Step, Update
from phase3test.seeding.phase3.baseline import CATEGORIES
from phase3test.seeding.phase3.customers import HISTORY_START

RULES_FIXED, RULES_PER_SCALE = 2, 6
PROMOS = (
    ("SPRING", "Spring build season"),
    ("WEEKEND", "Weekend warrior"),
    ("LONGHAUL", "Long haul"),
    ("FIRSTRENT", "First rental"),
    ("FLEET", "Fleet partner"),
    ("LOYAL", "Loyalty"),
    ("DIGIN", "Dig in"),
    ("LIFTOFF", "Lift off"),
)
DESCRIPTIONS = (
    "Shown at checkout when the booking qualifies.",
    "Sent to the newsletter list; the code is typed at checkout.",
    "Applied automatically by the pricing service.",
    "For partners who asked about volume pricing.",
)
DELIVERY_FEE = Decimal("40.00")
CENT = Decimal("0.01")
REDEEM_SHARE = 0.45  # of past bookings that try a promotion
ATTEMPTS = 6  # rules tried per booking before it goes without
LIVE_CONDITIONS = ("min_booking_total", "min_rental_days", "equipment", "weekday", "first_booking")
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
GUARANTORS = 24  # a small pool of names for signers who are not users


class PromotionsContractsSeeder(Seeder):
    name = "promotions_contracts"
    tables = (
        "public.promo_rules",
        "public.promo_rule_conditions",
        "public.promo_rule_actions",
        "public.promo_rule_segments",
        "public.promo_redemptions",
        "public.promo_analytics_daily",
        "public.contract_template_versions",
        "public.contract_signers",
        "public.contract_reminders",
        "public.contract_events",
    )
    depends_on = ("baseline", "customers")

    def generate(self, ctx: SeedContext) -> Iterator[Step]:
        yield from self._promotions(ctx)
        yield from self._contracts(ctx)

    # Promotions ------------------------------------------------------------------

    def _promotions(self, ctx: SeedContext) -> Iterator[Batch]:
        rand, uuid, now = ctx.random.random, ctx.uuid, ctx.now
        users = ctx.shared["users"]
        authors = users["marketing"] + users["admin"]
        tags = [t for t in ctx.shared["customer_tags"] if ctx.shared["customer_tag_members"][t]]
        members = {tag: set(ids) for tag, ids in ctx.shared["customer_tag_members"].items()}
        equipment = [str(e) for e in ctx.shared["equipment"]]
        rules: list[dict[str, Any]] = []
        conditions: list[tuple[Any, ...]] = []
        actions: list[tuple[Any, ...]] = []
        segments: list[tuple[Any, ...]] = []
        for index in range(RULES_FIXED + ctx.count(RULES_PER_SCALE)):
            prefix, label = PROMOS[index % len(PROMOS)]
            if rand() < 0.1:
                starts = now + timedelta(days=1 + int(rand() * 30))
            else:
                starts = now - timedelta(days=10 + int(rand() * 140))
            starts = starts.replace(minute=0, second=0, microsecond=0)
            ends = None if rand() < 0.25 else starts + timedelta(days=ctx.random.randint(14, 120))
            if starts > now:
                status = ctx.random.choice(("draft", "active"))
            elif ends is not None and ends <= now:
                status = ctx.random.choice(("expired", "expired", "archived"))
            else:
                status = "active" if rand() < 0.8 else "paused"
            if index < RULES_FIXED:  # evergreen rules, running since before the oldest booking
                starts, ends, status = (
                    (now - timedelta(days=120)).replace(minute=0, second=0, microsecond=0),
                    None,
                    "active",
                )
            created = min(starts, now) - timedelta(days=1 + int(rand() * 19), hours=int(rand() * 24))
            updated = created + timedelta(seconds=int(rand() * (now - created).total_seconds()))
            cap = None if rand() < 0.3 else ctx.random.randint(2, 12)
            rule_id = uuid()

            kind = ctx.random.choice(("percent_off", "percent_off", "amount_off", "free_days", "free_delivery"))
            offer = self._action(ctx, kind, rule_id, created)
            rule_actions = [offer]
            if kind != "free_delivery" and rand() < 0.2:
                rule_actions.append(self._action(ctx, "free_delivery", rule_id, created))
            actions.extend(rule_actions)
            title = {
                "percent_off": f"{offer[3]}% off",
                "amount_off": f"{offer[4]} USD off",
                "free_days": f"{offer[6]} free day(s)",
                "free_delivery": "free delivery",
            }[kind]

            roll = rand()
            kinds = ctx.random.sample(LIVE_CONDITIONS, 0 if roll < 0.3 else 1 if roll < 0.8 else 2)
            if status == "draft" and rand() < 0.5:
                kinds.append("equipment_category")  # drafts are never redeemed
            rule_conditions = [self._condition(ctx, k, equipment) for k in kinds]
            if index < RULES_FIXED:  # two days or more; or no condition, for returning customers
                rule_conditions = [("min_rental_days", "gte", 2)] if index == 0 else []
            conditions.extend((uuid(), rule_id, k, op, Jsonb(value), created) for k, op, value in rule_conditions)

            roll = rand()
            if roll < 0.25 and tags:
                segment, tag = "customer_tag", ctx.random.choice(tags)
            else:
                segment, tag = ("all_customers" if roll < 0.6 else "new_customers" if roll < 0.75 else
                                "returning_customers"), None  # fmt: skip
            if index < RULES_FIXED:
                segment, tag = ("all_customers" if index == 0 else "returning_customers"), None
            segments.append((uuid(), rule_id, segment, tag, created))

            code = None if rand() < 0.15 else f"{prefix}-{index + 1:04d}"
            rules.append(
                {"id": rule_id, "row": (rule_id, code, f"{label}: {title}", ctx.random.choice(DESCRIPTIONS), status,
                 ctx.random.choice((10, 50, 100, 100, 200)), rand() < 0.2, starts, ends, cap,
                 ctx.random.choice(authors), created, updated),
                 "status": status, "starts": starts, "ends": ends, "cap": cap, "used": 0,
                 "conditions": rule_conditions, "segment": segment, "tag": tag,
                 "actions": rule_actions}
            )  # fmt: skip
        yield Batch(
            "public.promo_rules",
            ("id", "code", "name", "description", "status", "priority", "stackable", "starts_at", "ends_at",
             "max_redemptions", "created_by", "created_at", "updated_at"),
            [rule["row"] for rule in rules],
        )  # fmt: skip
        yield Batch(
            "public.promo_rule_conditions", ("id", "rule_id", "kind", "operator", "value", "created_at"), conditions
        )
        yield Batch(
            "public.promo_rule_actions",
            ("id", "rule_id", "kind", "percent_off", "amount_off", "currency", "free_days", "created_at"),
            actions,
        )
        yield Batch(
            "public.promo_rule_segments", ("id", "rule_id", "segment", "customer_tag_id", "created_at"), segments
        )

        redemptions = self._redemptions(ctx, [r for r in rules if r["status"] != "draft"], members)
        yield Batch(
            "public.promo_redemptions",
            ("id", "rule_id", "customer_id", "booking_id", "status", "discount_amount", "currency", "redeemed_at"),
            [r[:8] for r in redemptions],
        )
        yield Batch(
            "public.promo_analytics_daily",
            ("id", "rule_id", "day", "impressions", "redemptions", "discount_total", "booking_revenue", "currency",
             "updated_at"),
            self._analytics(ctx, rules, redemptions),
        )  # fmt: skip

    def _action(self, ctx: SeedContext, kind: str, rule_id: Any, created: datetime) -> tuple[Any, ...]:
        percent = Decimal(5 * ctx.random.randint(1, 6)) if kind == "percent_off" else None
        amount = Decimal(ctx.random.choice((25, 50, 75, 100))) if kind == "amount_off" else None
        days = ctx.random.randint(1, 2) if kind == "free_days" else None
        return (ctx.uuid(), rule_id, kind, percent, amount, "USD", days, created)

    def _condition(self, ctx: SeedContext, kind: str, equipment: list[str]) -> tuple[str, str, Any]:
        if kind == "min_booking_total":
            return kind, "gte", ctx.random.choice((100, 250, 500))
        if kind == "min_rental_days":
            return kind, "gte", ctx.random.choice((2, 3, 5))
        if kind == "equipment":
            return kind, "in", ctx.random.sample(equipment, min(len(equipment), ctx.random.randint(2, 6)))
        if kind == "weekday":  # ISO weekdays of the rental's first day
            return kind, "in", ctx.random.choice(([1, 2, 3, 4, 5], [5, 6, 7], [6, 7], [1, 2]))
        if kind == "first_booking":
            return kind, "eq", True
        return kind, "in", ctx.random.sample(sorted(CATEGORIES), 2)

    def _redemptions(
        self, ctx: SeedContext, live: list[dict[str, Any]], members: dict[Any, set[Any]]
    ) -> list[tuple[Any, ...]]:
        """Bookings that started by now try a few rules; the first that fits and has room is redeemed.

        A cancelled booking's redemption is 'reversed'. The discount was taken
        when the booking was made: at most two days before the start.
        """
        rand = ctx.random.random
        bookings = ctx.shared["bookings"]
        paid: dict[Any, Decimal] = {}
        refunded: dict[Any, Decimal] = {}
        for payment in ctx.shared["payments"]:
            if payment["status"] == "succeeded":
                paid[payment["booking_id"]] = paid.get(payment["booking_id"], Decimal(0)) + payment["amount"]
            elif payment["status"] == "refunded":
                refunded[payment["booking_id"]] = payment["amount"]
        first: dict[Any, datetime] = {}
        for booking in bookings:
            customer = booking["customer_id"]
            if customer not in first or booking["starts_at"] < first[customer]:
                first[customer] = booking["starts_at"]
        redemptions: list[tuple[Any, ...]] = []
        if not live:
            return redemptions
        for booking in bookings:
            if booking["status"] in ("completed", "active"):
                total, status = paid.get(booking["id"]), "redeemed"
            elif booking["status"] == "cancelled":
                total, status = refunded.get(booking["id"]), "reversed"
            else:
                continue
            if not total or rand() >= REDEEM_SHARE:
                continue
            at = booking["starts_at"] - timedelta(seconds=int(rand() * 2 * 86400))
            is_first = booking["starts_at"] == first[booking["customer_id"]]
            for _ in range(ATTEMPTS):
                rule = ctx.random.choice(live)
                if status == "redeemed" and rule["cap"] is not None and rule["used"] >= rule["cap"]:
                    continue
                if not _fits(rule, booking, total, at, is_first, members):
                    continue
                discount = min(sum((_discount(a, booking, total) for a in rule["actions"]), Decimal(0)), total)
                if status == "redeemed":
                    rule["used"] += 1
                redemptions.append(
                    (ctx.uuid(), rule["id"], booking["customer_id"], booking["id"], status, discount, "USD", at, total)
                )
                break
        return redemptions

    def _analytics(
        self, ctx: SeedContext, rules: list[dict[str, Any]], redemptions: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """One row per rule and finished day it ran (since the first redemption): that day's live redemptions."""
        rand = ctx.random.random
        today = ctx.now.date()
        days: dict[tuple[Any, date], list[Any]] = {}
        for _id, rule_id, _customer, _booking, status, discount, _currency, at, total in redemptions:
            if status == "redeemed":
                tally = days.setdefault((rule_id, at.date()), [0, Decimal(0), Decimal(0)])
                tally[0] += 1
                tally[1] += discount
                tally[2] += total - discount
        since = min((at.date() for *_, at, _total in redemptions), default=today - timedelta(days=30))
        rows = []
        for rule in rules:
            if rule["status"] == "draft":
                continue
            day = max(rule["starts"].date(), since)
            last = min(rule["ends"].date(), today - DAY) if rule["ends"] else today - DAY
            while day <= last:
                count, discount, revenue = days.get((rule["id"], day), (0, Decimal(0), Decimal(0)))
                impressions = count * (8 + int(rand() * 20)) + int(rand() * 60)
                at = datetime.combine(day + DAY, time(2, tzinfo=UTC))
                rows.append((ctx.uuid(), rule["id"], day, impressions, count, discount, revenue, "USD", at))
                day += DAY
        return rows

    # Contracts -------------------------------------------------------------------

    def _contracts(self, ctx: SeedContext) -> Iterator[Step]:
        rand, uuid, now = ctx.random.random, ctx.uuid, ctx.now
        admins = ctx.shared["users"]["admin"] + ctx.shared["users"]["super_admin"]
        templates, contracts = ctx.rows("public.contract_templates"), ctx.rows("public.contracts")
        # Version 1 is the template's body as it stands, as the migration's backfill would make it.
        versions = [(uuid(), t["id"], 1, t["body"], "Initial version", t["created_at"], None, t["created_at"])
                    for t in templates]  # fmt: skip
        if templates:  # a draft of the first template's next version, not yet published
            drafted = HISTORY_START + timedelta(days=int(rand() * 250))
            body = f"{templates[0]['body']}\n\n{ctx.faker.paragraph(nb_sentences=3)}"
            versions.append(
                (uuid(), templates[0]["id"], 2, body, "Clarified the damage clause", None, ctx.random.choice(admins),
                 drafted)
            )  # fmt: skip
        yield Batch(
            "public.contract_template_versions",
            ("id", "template_id", "version", "body", "change_summary", "published_at", "created_by", "created_at"),
            versions,
        )
        # As the application does once a version exists: the template points at
        # its published version, and every contract at the one it was made from
        # (version 1: version 2 is an unpublished draft).
        yield Update("public.contract_templates", "update public.contract_templates set current_version = 1")
        yield Update(
            "public.contracts",
            """update public.contracts c set template_version_id = v.id
                 from public.contract_template_versions v
                where v.template_id = c.template_id and v.version = 1""",
        )

        starts = {b["id"]: b["starts_at"] for b in ctx.shared["bookings"]}
        people = _people(ctx)
        guarantors = [ctx.faker.name() for _ in range(GUARANTORS)]
        signers: list[tuple[Any, ...]] = []
        reminders: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for number, contract in enumerate(contracts):
            contract_id, created, customer = contract["id"], contract["created_at"], contract["customer_id"]
            events.append((uuid(), contract_id, None, "created", None, Jsonb({"template_version": 1}), created))
            parties = [("customer", customer, *people[customer])]
            if rand() < 0.3:
                company = ctx.random.choice(admins)
                parties.append(("company", company, *people[company]))
            if rand() < 0.05:
                parties.append(("guarantor", None, ctx.random.choice(guarantors), f"guarantor.{number}@example.test"))
            if contract["status"] == "signed":
                # Signed in person when the booking was made: everyone signs at signed_at.
                for order, (role, user, full_name, email) in enumerate(parties, start=1):
                    signer = uuid()
                    signed_at = contract["signed_at"]
                    signers.append(
                        (signer, contract_id, user, role, full_name, email, order, "signed", signed_at, created)
                    )
                    events.append((uuid(), contract_id, signer, "signed", user, Jsonb({"in_person": True}), signed_at))
                continue
            # Sent for signature by e-mail, before the rental starts: a view, reminders.
            sent = created + timedelta(minutes=1 + int(rand() * 29))
            events.append((uuid(), contract_id, None, "sent", None, Jsonb({"channel": "email"}), sent))
            deadline = starts[contract["booking_id"]]
            for order, (role, user, full_name, email) in enumerate(parties, start=1):
                signer, status = uuid(), "pending"
                viewed = sent + timedelta(minutes=10 + int(rand() * 2000))
                if order == 1 and viewed <= now and viewed < deadline and rand() < 0.6:
                    status = "viewed"
                    events.append((uuid(), contract_id, signer, "viewed", user, Jsonb({}), viewed))
                signers.append((signer, contract_id, user, role, full_name, email, order, status, None, created))
                if order != 1:
                    continue
                for scheduled in (sent + 12 * HOUR, sent + 30 * HOUR):
                    if scheduled >= deadline:
                        continue
                    channel = "email" if rand() < 0.8 else "sms"
                    if scheduled > now:
                        reminders.append((uuid(), contract_id, signer, channel, "scheduled", scheduled, None, sent))
                    elif channel == "sms" and rand() < 0.2:
                        reminders.append((uuid(), contract_id, signer, channel, "failed", scheduled, None, sent))
                    else:
                        delivered = scheduled + timedelta(seconds=int(rand() * 120))
                        reminders.append((uuid(), contract_id, signer, channel, "sent", scheduled, delivered, sent))
                        events.append(
                            (uuid(), contract_id, signer, "reminded", None, Jsonb({"channel": channel}), delivered)
                        )
        yield Batch(
            "public.contract_signers",
            ("id", "contract_id", "user_id", "signer_role", "full_name", "email", "signing_order", "status",
             "signed_at", "created_at"),
            signers,
        )  # fmt: skip
        yield Batch(
            "public.contract_reminders",
            ("id", "contract_id", "signer_id", "channel", "status", "scheduled_for", "sent_at", "created_at"),
            reminders,
        )
        yield Batch(
            "public.contract_events",
            ("id", "contract_id", "signer_id", "event_type", "actor_id", "details", "occurred_at"),
            events,
        )


def _fits(
    rule: dict[str, Any],
    booking: dict[str, Any],
    total: Decimal,
    at: datetime,
    is_first: bool,
    members: dict[Any, set[Any]],
) -> bool:
    """Whether the rule ran at `at` and the booking meets its conditions and segment."""
    if at < rule["starts"] or (rule["ends"] is not None and at >= rule["ends"]):
        return False
    for kind, _operator, value in rule["conditions"]:
        if kind == "min_booking_total" and total < value:
            return False
        if kind == "min_rental_days" and (booking["ends_at"] - booking["starts_at"]).days < value:
            return False
        if kind == "equipment" and str(booking["equipment_id"]) not in value:
            return False
        if kind == "weekday" and booking["starts_at"].isoweekday() not in value:
            return False
        if kind == "first_booking" and is_first != value:
            return False
    segment = rule["segment"]
    if segment == "new_customers":
        return is_first
    if segment == "returning_customers":
        return not is_first
    if segment == "customer_tag":
        return booking["customer_id"] in members[rule["tag"]]
    return True


def _discount(action: tuple[Any, ...], booking: dict[str, Any], total: Decimal) -> Decimal:
    kind, percent, amount, free_days = action[2], action[3], action[4], action[6]
    if kind == "percent_off":
        return (total * percent / 100).quantize(CENT)
    if kind == "amount_off":
        return min(amount, total)
    if kind == "free_days":
        days = max((booking["ends_at"] - booking["starts_at"]).days, 1)
        return min((total / days * free_days).quantize(CENT), total)
    return min(DELIVERY_FEE, total)


def _people(ctx: SeedContext) -> dict[Any, tuple[str, str]]:
    """Every seeded user's (full name, email)."""
    return {user["id"]: (user["full_name"], user["email"]) for user in ctx.rows("public.users")}
