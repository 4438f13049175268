"""Audit & security: the audit log with its tags, incidents, staff invites and sessions, secrets, settings changes.

Every audit event tells of a seeded row (a booking checked out or returned, a
session opened, an invite, a settings change, a secret, an incident) at the
time that row says it happened, in the name and app role of the user who did
it. Invariants the tests check: actor roles match the users; each event's
target exists and the event is no older than it; tags and incidents come
after their event; an invite's status agrees with its expiry and acceptance
(a super admin is invited by a super admin only); sessions belong to staff,
are seen only while valid and are revoked by admins of at least the same
rank; a secret's nonce fits its algorithm and it was rotated iff its key
version moved on; applied settings changes chain each value to the next and
end at the value system_settings holds, and one setting has at most one
request under way at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from ipaddress import IPv4Address
from typing import Any

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder
from phase3test.seeding.phase3.users import email as user_email

STAFF_ROLES = ("admin", "super_admin", "finance", "marketing", "security", "pricing_service")
CONSOLE_ROLES = ("admin", "super_admin", "finance", "marketing", "security")  # pricing_service has no sessions
SESSIONS_PER_STAFF = 3
SESSION_LIFETIME = timedelta(hours=12)
INVITE_LIFETIME = timedelta(days=7)
FAILED_SIGN_INS_PER_SCALE = 6
INCIDENTS_PER_SCALE = 3
APPLIED_CHANGES_PER_SCALE = 2
# The values BaselineSeeder gives system_settings: the last applied change request set them.
CURRENT_SETTINGS: dict[str, Any] = {"booking.max_days": 30, "booking.deposit_ratio": 0.3, "support.auto_close_days": 14}
SETTING_VALUES: dict[str, tuple[Any, ...]] = {
    "booking.max_days": (7, 14, 21, 28, 30, 45, 60),
    "booking.deposit_ratio": (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5),
    "support.auto_close_days": (3, 5, 7, 10, 14, 21, 30),
}
CHANGE_REASONS = (
    "Align with the new rental terms",
    "Requested by finance after the quarterly review",
    "Customers asked for longer rentals",
    "Reduce the support backlog",
    "Seasonal adjustment",
    "Match what competitors offer",
)
SECRETS = {
    "stripe.secret_key": "Stripe API secret key",
    "stripe.webhook_secret": "Signing secret of the Stripe webhook",
    "sendgrid.api_key": "Transactional email",
    "twilio.auth_token": "SMS notifications",
    "maps.api_key": "Geocoding of delivery addresses",
    "backup.s3_secret_key": "Off-site backups",
}
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
)
REVIEW_TAGS = ("reviewed", "soc2:evidence", "needs-follow-up", "false-positive", "pii")
OTHER_INCIDENTS = (
    ("Phishing email reported by staff", "A staff member forwarded a credential-harvesting email."),
    ("Laptop reported lost", "A staff laptop was left on a train; the disk is encrypted."),
    ("Unexpected admin API call", "An admin endpoint was called from an unknown network."),
)
_S, _M, _H, _D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


class AuditSecuritySeeder(Seeder):
    name = "audit_security"
    tables = (
        "public.audit_events",
        "public.audit_event_tags",
        "public.security_incidents",
        "public.admin_invites",
        "public.admin_sessions",
        "public.secret_store",
        "public.settings_change_requests",
    )
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        run = _Run(ctx)
        sessions = run.sessions()
        invites = run.invites()
        secrets = run.secrets()
        requests = run.change_requests()
        run.booking_events()
        incidents = run.incidents()
        yield Batch(
            "public.audit_events",
            ("id", "occurred_at", "actor_id", "actor_role", "action", "target_table", "target_id", "severity",
             "ip_address", "user_agent", "metadata", "created_at"),
            run.events,
        )  # fmt: skip
        yield Batch("public.audit_event_tags", ("id", "event_id", "tag", "created_by", "created_at"), run.tags())
        yield Batch(
            "public.security_incidents",
            ("id", "title", "description", "severity", "status", "reported_by", "assigned_to", "audit_event_id",
             "detected_at", "resolved_at", "created_at", "updated_at"),
            incidents,
        )  # fmt: skip
        yield Batch(
            "public.admin_invites",
            ("id", "email", "role", "token_hash", "status", "invited_by", "accepted_by", "accepted_at", "expires_at",
             "created_at"),
            invites,
        )  # fmt: skip
        yield Batch(
            "public.admin_sessions",
            ("id", "user_id", "session_token_hash", "ip_address", "user_agent", "two_factor_verified", "last_seen_at",
             "expires_at", "revoked_at", "revoked_by", "created_at"),
            sessions,
        )  # fmt: skip
        yield Batch(
            "public.secret_store",
            ("id", "key", "ciphertext", "nonce", "key_version", "algorithm", "description", "created_by",
             "rotated_at", "created_at", "updated_at"),
            secrets,
        )  # fmt: skip
        yield Batch(
            "public.settings_change_requests",
            ("id", "setting_key", "proposed_value", "previous_value", "reason", "status", "requested_by",
             "reviewed_by", "reviewed_at", "applied_at", "created_at", "updated_at"),
            requests,
        )  # fmt: skip
        ctx.shared["audit_events"] = [event[0] for event in run.events]
        ctx.shared["security_incidents"] = [incident[0] for incident in incidents]


class _Run:
    """One seeding: the context, small pools drawn once, and the audit log being written."""

    def __init__(self, ctx: SeedContext) -> None:
        self.ctx = ctx
        self.now = ctx.now
        users = ctx.shared["users"]
        self.role_of = {uid: role for role, ids in users.items() for uid in ids}
        self.admins = [*users["admin"], *users["super_admin"]]
        self.super_admins = list(users["super_admin"])
        self.security = list(users["security"])
        self.ips = [IPv4Address(ctx.faker.ipv4_public()) for _ in range(24)]
        self.hostile_ips = [IPv4Address(ctx.faker.ipv4_public()) for _ in range(8)]
        self.names = [(_plain(ctx.faker.first_name()), _plain(ctx.faker.last_name())) for _ in range(20)]
        self.ip_of = {uid: self.ips[i % len(self.ips)] for i, uid in enumerate(self.role_of)}
        self.events: list[tuple[Any, ...]] = []

    # The log ----------------------------------------------------------------

    def log(
        self,
        at: datetime,
        actor: Any,
        action: str,
        target_table: str | None,
        target_id: Any,
        metadata: dict[str, Any],
        severity: str = "info",
        actor_role: str | None = None,
        ip: IPv4Address | None = None,
    ) -> Any:
        event_id = self.ctx.uuid()
        role = self.role_of[actor] if actor is not None else actor_role
        agent = USER_AGENTS[int(self.ctx.random.random() * len(USER_AGENTS))] if actor is not None else None
        ip = ip or (self.ip_of[actor] if actor is not None else None)
        target = None if target_id is None else str(target_id)
        self.events.append(
            (event_id, at, actor, role, action, target_table, target, severity, ip, agent, Jsonb(metadata), at)
        )
        return event_id

    def tags(self) -> Iterator[tuple[Any, ...]]:
        """The system tags every event gets when written, and a security reviewer's now and then."""
        ctx, now = self.ctx, self.now
        for event in self.events:
            event_id, at, action, severity = event[0], event[1], event[4], event[7]
            yield (ctx.uuid(), event_id, action.split(".", 1)[0], None, at)
            if severity in ("warning", "critical"):
                yield (ctx.uuid(), event_id, f"severity:{severity}", None, at)
            if ctx.random.random() < 0.1:
                tag = REVIEW_TAGS[ctx.random.randrange(len(REVIEW_TAGS))]
                reviewer = ctx.random.choice(self.security)
                yield (ctx.uuid(), event_id, tag, reviewer, min(now, at + _M * ctx.random.randint(5, 4 * 24 * 60)))

    # Sessions ---------------------------------------------------------------

    def sessions(self) -> list[tuple[Any, ...]]:
        ctx, now = self.ctx, self.now
        users = ctx.shared["users"]
        rows = []
        for role in CONSOLE_ROLES:
            for user in users[role]:
                for _ in range(ctx.count(SESSIONS_PER_STAFF)):
                    session_id = ctx.uuid()
                    created = now - _M * ctx.random.randint(1, 30 * 24 * 60)
                    expires = created + SESSION_LIFETIME
                    revoked_at = revoked_by = None
                    if ctx.random.random() < 0.1:
                        revoked_at = _between(ctx, created + _M, min(expires, now))
                        revoked_by = ctx.random.choice(self.super_admins if role == "super_admin" else self.admins)
                    last_seen = _between(ctx, created, min(expires, now, revoked_at or now))
                    ip = self.ip_of[user] if ctx.random.random() < 0.8 else ctx.random.choice(self.ips)
                    agent = USER_AGENTS[ctx.random.randrange(len(USER_AGENTS))]
                    # Seeded users have not enrolled in two-factor, so no session verified it.
                    rows.append(
                        (session_id, user, ctx.random.randbytes(32), ip, agent, False, last_seen, expires, revoked_at,
                         revoked_by, created)
                    )  # fmt: skip
                    self.log(created, user, "auth.sign_in", "admin_sessions", session_id, {"method": "password"}, ip=ip)
                    if revoked_by is not None and revoked_at is not None:
                        self.log(revoked_at, revoked_by, "admin_session.revoked", "admin_sessions", session_id,
                                 {"user_id": str(user)}, severity="notice")  # fmt: skip
        return rows

    # Invites ----------------------------------------------------------------

    def invites(self) -> list[tuple[Any, ...]]:
        ctx, now = self.ctx, self.now
        users = ctx.shared["users"]
        rows: list[tuple[Any, ...]] = []
        founder = self.super_admins[0]
        # Every staff member but the founding super admin accepted an invite in early 2025
        # (after every seeded account was made, in 2024).
        for role in STAFF_ROLES:
            for index, user in enumerate(users[role]):
                if user == founder:
                    continue
                inviter = founder if role in ("admin", "super_admin") else ctx.random.choice(self.admins)
                accepted = self.now.replace(year=2025, month=1, day=5) + _M * ctx.random.randint(0, 60 * 24 * 60)
                created = accepted - _M * ctx.random.randint(10, 6 * 24 * 60)
                invite_id = ctx.uuid()
                rows.append(
                    (invite_id, user_email(role, index), role, ctx.random.randbytes(32), "accepted", inviter, user,
                     accepted, created + INVITE_LIFETIME, created)
                )  # fmt: skip
                self.log(created, inviter, "admin_invite.created", "admin_invites", invite_id, {"role": role})
                self.log(accepted, user, "admin_invite.accepted", "admin_invites", invite_id, {"role": role})
        for status, count in (("pending", 2), ("expired", 1), ("revoked", 1)):
            for _ in range(ctx.count(count)):
                first, last = self.names[ctx.random.randrange(len(self.names))]
                address = f"{first}.{last}.{len(rows)}@example.test"
                role = ctx.random.choice(STAFF_ROLES)
                inviter = ctx.random.choice(self.super_admins if role == "super_admin" else self.admins)
                if status == "pending":
                    created = now - _M * ctx.random.randint(1, 6 * 24 * 60)
                else:
                    created = now - _M * ctx.random.randint(8 * 24 * 60, 120 * 24 * 60)
                invite_id = ctx.uuid()
                rows.append(
                    (invite_id, address, role, ctx.random.randbytes(32), status, inviter, None, None,
                     created + INVITE_LIFETIME, created)
                )  # fmt: skip
                self.log(created, inviter, "admin_invite.created", "admin_invites", invite_id, {"role": role})
                if status == "revoked":
                    revoked = _between(ctx, created, created + INVITE_LIFETIME)
                    self.log(revoked, inviter, "admin_invite.revoked", "admin_invites", invite_id, {"role": role},
                             severity="notice")  # fmt: skip
        return rows

    # Secrets ----------------------------------------------------------------

    def secrets(self) -> list[tuple[Any, ...]]:
        ctx, now = self.ctx, self.now
        keys = list(SECRETS.items())
        keys += [
            (f"partner.{i:03d}.webhook_secret", "Signing secret of a partner webhook") for i in range(ctx.count(2))
        ]
        rows = []
        for key, description in keys:
            secret_id = ctx.uuid()
            creator = ctx.random.choice(self.super_admins)
            created = now.replace(year=2025, month=1, day=10) + _M * ctx.random.randint(0, 120 * 24 * 60)
            version = ctx.random.choice((1, 1, 2, 3, 4))
            rotated = _between(ctx, created + 30 * _D, now) if version > 1 else None
            algorithm = "xchacha20-poly1305" if ctx.random.random() < 0.2 else "aes-256-gcm"
            nonce = ctx.random.randbytes(24 if algorithm == "xchacha20-poly1305" else 12)
            ciphertext = ctx.random.randbytes(16 + ctx.random.randint(16, 80))  # sealed value + 16-byte tag
            rows.append(
                (secret_id, key, ciphertext, nonce, version, algorithm, description, creator, rotated, created,
                 rotated or created)
            )  # fmt: skip
            self.log(created, creator, "secret.created", "secret_store", secret_id, {"key": key}, severity="notice")
            if rotated is not None:
                self.log(rotated, ctx.random.choice(self.super_admins), "secret.rotated", "secret_store", secret_id,
                         {"key": key, "key_version": version}, severity="notice")  # fmt: skip
        return rows

    # Settings change requests -------------------------------------------------

    def change_requests(self) -> list[tuple[Any, ...]]:
        """Per setting, one request after another: applied ones chain the values up to today's."""
        ctx, now = self.ctx, self.now
        rows = []
        tails: list[str | None] = ["pending", "approved", None]  # one setting each, in a random order
        ctx.random.shuffle(tails)
        for (key, current), tail in zip(CURRENT_SETTINGS.items(), tails, strict=True):
            choices = SETTING_VALUES[key]
            applied = ctx.count(APPLIED_CHANGES_PER_SCALE)
            values = [current]
            for _ in range(applied):
                values.append(ctx.random.choice([v for v in choices if v != values[-1]]))
            values.reverse()  # values[i] -> values[i + 1] is the i-th applied change; the last is today's
            plan: list[str] = []
            for _ in range(applied):
                if ctx.random.random() < 0.3:
                    plan.append(ctx.random.choice(("rejected", "cancelled")))
                plan.append("applied")
            if tail:
                plan.append(tail)
            # Each request has its own slot of time, the last ending well before now.
            start, end = now - 330 * _D, now - 1 * _H
            slot = (end - start) / len(plan)
            value_index = 0
            for position, status in enumerate(plan):
                opened = start + slot * position
                created = _between(ctx, opened, opened + slot * 0.3)
                previous = values[value_index]
                if status == "applied":
                    proposed = values[value_index + 1]
                    value_index += 1
                else:
                    proposed = ctx.random.choice([v for v in choices if v != previous])
                requester = ctx.random.choice(self.admins)
                reviewer = ctx.random.choice([a for a in self.admins if a != requester])
                reviewed_by = reviewed_at = applied_at = None
                updated = created
                request_id = ctx.uuid()
                meta = {"setting_key": key}
                self.log(created, requester, "settings.change_requested", "settings_change_requests", request_id, meta)
                if status == "cancelled":
                    updated = _between(ctx, created, created + slot * 0.2)
                    self.log(updated, requester, "settings.change_cancelled", "settings_change_requests", request_id,
                             meta)  # fmt: skip
                elif status in ("approved", "rejected", "applied"):
                    reviewed_by, reviewed_at = reviewer, _between(ctx, created + _M, created + slot * 0.3)
                    updated = reviewed_at
                    verdict = "rejected" if status == "rejected" else "approved"
                    self.log(reviewed_at, reviewer, f"settings.change_{verdict}", "settings_change_requests",
                             request_id, meta, severity="notice")  # fmt: skip
                    if status == "applied":
                        applied_at = updated = _between(ctx, reviewed_at + _M, reviewed_at + slot * 0.2)
                        self.log(applied_at, None, "settings.change_applied", "settings_change_requests", request_id,
                                 {**meta, "value": proposed}, severity="notice", actor_role="service_role")  # fmt: skip
                reason = CHANGE_REASONS[ctx.random.randrange(len(CHANGE_REASONS))]
                rows.append(
                    (request_id, key, Jsonb(proposed), Jsonb(previous), reason, status, requester, reviewed_by,
                     reviewed_at, applied_at, created, updated)
                )  # fmt: skip
        return rows

    # Bookings and payments -------------------------------------------------------

    def booking_events(self) -> None:
        """The back office checks machines out and in; customers cancel; finance refunds."""
        ctx, now = self.ctx, self.now
        staff, draw = self.admins, ctx.random.random  # random() is the cheapest draw: these loops are hot
        finance = ctx.shared["users"]["finance"]
        refunded = {p["booking_id"]: p for p in ctx.shared["payments"] if p["status"] == "refunded"}
        for b in ctx.shared["bookings"]:
            booking_id, status = b["id"], b["status"]
            meta = {"equipment_id": str(b["equipment_id"]), "customer_id": str(b["customer_id"])}
            if status in ("active", "completed"):
                at = min(now, b["starts_at"] + _M * int(draw() * 91))
                self.log(at, staff[int(draw() * len(staff))], "booking.checked_out", "bookings", booking_id, meta)
            if status == "completed":
                at = min(now, b["ends_at"] + _M * int(draw() * 181))
                self.log(at, staff[int(draw() * len(staff))], "booking.returned", "bookings", booking_id, meta)
            elif status == "cancelled":
                # Bookings are made at least two days before they start.
                cancelled = b["starts_at"] - _H * ctx.random.randint(2, 40)
                self.log(cancelled, b["customer_id"], "booking.cancelled", "bookings", booking_id, meta)
                payment = refunded.get(booking_id)
                if payment is not None:
                    self.log(cancelled + _M * ctx.random.randint(5, 60), ctx.random.choice(finance),
                             "payment.refunded", "payments", payment["id"],
                             {"amount": str(payment["amount"]), "booking_id": str(booking_id)})  # fmt: skip

    # Failed sign-ins and incidents -----------------------------------------------

    def incidents(self) -> list[tuple[Any, ...]]:
        ctx, now = self.ctx, self.now
        staff = [(uid, role) for uid, role in self.role_of.items() if role in CONSOLE_ROLES]
        failures = []
        for _ in range(ctx.count(FAILED_SIGN_INS_PER_SCALE)):
            user, _role = staff[ctx.random.randrange(len(staff))]
            attempts = ctx.random.randint(3, 40)
            severity = "critical" if attempts >= 20 else "warning"
            at = now - _M * ctx.random.randint(60, 60 * 24 * 60)
            event_id = self.log(at, None, "auth.sign_in_failed", "users", user,
                                {"attempts": attempts, "reason": "invalid_password"}, severity=severity,
                                ip=ctx.random.choice(self.hostile_ips))  # fmt: skip
            failures.append((event_id, at, severity, user))
        rows = []
        picked = ctx.random.sample(failures, min(len(failures), ctx.count(INCIDENTS_PER_SCALE)))
        for event_id, at, event_severity, user in picked:
            detected = min(now, at + _M * ctx.random.randint(1, 30))
            severity = ctx.random.choice(("high", "critical") if event_severity == "critical" else ("low", "medium"))
            title = f"Repeated failed sign-ins for {self.role_of[user].replace('_', ' ')} account"
            description = "Burst of failed password attempts from an unknown address."
            rows.append(self._incident(title, description, severity, ctx.random.choice(self.security), event_id,
                                       detected))  # fmt: skip
        for _ in range(ctx.count(1)):
            title, description = OTHER_INCIDENTS[ctx.random.randrange(len(OTHER_INCIDENTS))]
            detected = now - _M * ctx.random.randint(60, 90 * 24 * 60)
            reporter = staff[ctx.random.randrange(len(staff))][0]
            rows.append(self._incident(title, description, ctx.random.choice(("low", "medium", "high")), reporter,
                                       None, detected))  # fmt: skip
        return rows

    def _incident(
        self, title: str, description: str, severity: str, reporter: Any, event_id: Any, detected: datetime
    ) -> tuple[Any, ...]:
        ctx, now = self.ctx, self.now
        incident_id = ctx.uuid()
        if detected > now - 2 * _D:
            status = ctx.random.choice(("open", "investigating"))
        else:
            status = ctx.random.choice(("investigating", "contained", "resolved", "closed", "closed"))
        assignee = ctx.random.choice(self.security)
        resolved = updated = None
        if status in ("resolved", "closed"):
            resolved = updated = _between(ctx, detected + _H, min(now, detected + 5 * _D))
        elif status != "open":
            updated = _between(ctx, detected, now)
        self.log(detected, reporter, "security_incident.opened", "security_incidents", incident_id,
                 {"severity": severity}, severity="warning")  # fmt: skip
        if resolved is not None:
            self.log(resolved, assignee, f"security_incident.{status}", "security_incidents", incident_id,
                     {"severity": severity}, severity="notice")  # fmt: skip
        return (incident_id, title, description, severity, status, reporter, assignee, event_id, detected, resolved,
                detected, updated or detected)  # fmt: skip


def _plain(name: str) -> str:
    """A name as it may appear in an email address: lower-case letters only."""
    return re.sub(r"[^a-z]", "", name.lower()) or "staff"


def _between(ctx: SeedContext, start: datetime, end: datetime) -> datetime:
    """A whole second in [start, end]."""
    return start + _S * ctx.random.randint(0, max(0, int((end - start).total_seconds())))
