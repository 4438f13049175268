"""The admin dashboard's own tables: alerts, saved filters and export requests.

The materialized views are not seeded: `private.refresh_dashboard_views()`
builds them from the bookings and payments.

Invariants the tests check: an alert's lifecycle columns agree with its
status (acknowledged and resolved by admins, in order, never after "now");
at most one open or acknowledged alert per kind and subject; every open
payment_overdue alert is still a candidate at the reference time (a confirmed
or active booking starting within two days with no succeeded payment), and
alerts on a booking come after it was made; an admin has at most one default
filter per view; an export's completion, expiry, file and error agree with
its status.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder
from phase3test.seeding.phase3.baseline import CATEGORIES, WINDOW_BACK

VIEWS = ("kpis", "revenue_trends", "booking_trends", "equipment_utilization", "alert_candidates", "alerts")
FILTERS_PER_ADMIN = 3
EXPORTS_PER_SCALE = 10
MANUAL_ALERTS_PER_SCALE = 3
EXPORT_LIFETIME = timedelta(days=7)
FILTER_NAMES = (
    "This week",
    "Last 30 days",
    "Excavators only",
    "Lifts and loaders",
    "Critical alerts",
    "Unacknowledged",
    "Month to date",
    "Quarter review",
    "Low utilization",
    "Board report",
    "Yard north",
    "Weekend bookings",
)
MANUAL_TITLES = (
    "Check the yard gate",
    "Customer called about a late delivery",
    "Verify the serial number on site",
    "Fuel card missing from the machine",
    "Follow up on a damage report",
    "Driver reported a flat tyre",
    "Inspect hydraulics before the next rental",
)
EXPORT_ERRORS = (
    "statement timeout while reading the view",
    "storage upload failed: 503 Service Unavailable",
    "export exceeds the 1,000,000 row limit",
)


class DashboardSeeder(Seeder):
    name = "dashboard"
    tables = ("public.alerts", "public.dashboard_saved_filters", "public.dashboard_exports")
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        users = ctx.shared["users"]
        admins = [*users["admin"], *users["super_admin"]]
        alerts = self._alerts(ctx, admins)
        yield Batch(
            "public.alerts",
            ("id", "kind", "severity", "status", "title", "details", "booking_id", "payment_id", "equipment_id",
             "acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "created_at", "updated_at"),
            alerts,
        )  # fmt: skip
        ctx.shared["alerts"] = [alert[0] for alert in alerts]
        yield Batch(
            "public.dashboard_saved_filters",
            ("id", "admin_id", "name", "view_name", "filters", "is_default", "created_at", "updated_at"),
            self._saved_filters(ctx, admins),
        )
        yield Batch(
            "public.dashboard_exports",
            ("id", "requested_by", "view_name", "format", "filters", "status", "storage_path", "row_count",
             "error_message", "completed_at", "expires_at", "created_at"),
            self._exports(ctx, admins, len(ctx.shared["equipment"])),
        )  # fmt: skip

    # Alerts -----------------------------------------------------------------

    def _alerts(self, ctx: SeedContext, admins: list[Any]) -> list[tuple[Any, ...]]:
        now = ctx.now
        bookings = ctx.shared["bookings"]
        paid = {p["booking_id"] for p in ctx.shared["payments"] if p["status"] == "succeeded"}
        rows: list[tuple[Any, ...]] = []

        def add(kind, severity, status, title, details, subject, created):
            """One alert; `subject` is (booking_id, payment_id, equipment_id)."""
            acked_by = acked_at = resolved_by = resolved_at = None
            if status == "acknowledged" or (status == "resolved" and ctx.random.random() < 0.7):
                acked_by, acked_at = ctx.random.choice(admins), _between(ctx, created, min(now, created + _H * 6))
            if status in ("resolved", "dismissed"):
                start = acked_at or created
                resolved_by, resolved_at = ctx.random.choice(admins), _between(ctx, start, min(now, start + _H * 48))
            updated = resolved_at or acked_at or created
            rows.append(
                (ctx.uuid(), kind, severity, status, title, Jsonb(details), *subject,
                 acked_by, acked_at, resolved_by, resolved_at, created, updated)
            )  # fmt: skip

        # Still candidates at the reference time: open or acknowledged, one per subject.
        for b in bookings:
            if b["status"] in ("confirmed", "active") and b["starts_at"] < now + 2 * _D and b["id"] not in paid:
                # Made at least two days before it starts; detected once it is two days away.
                created = min(now, b["starts_at"] - 2 * _D + _M * ctx.random.randint(5, 60))
                status = "open" if ctx.random.random() < 0.6 else "acknowledged"
                details = {"starts_at": b["starts_at"].isoformat(), "customer_id": str(b["customer_id"])}
                add("payment_overdue", "warning", status, "Booking starts without a payment", details,
                    (b["id"], None, None), created)  # fmt: skip
            if b["status"] == "active" and b["ends_at"] < now:
                created = min(now, b["ends_at"] + _M * ctx.random.randint(5, 60))
                severity = "critical" if b["ends_at"] < now - 2 * _D else "warning"
                details = {"ends_at": b["ends_at"].isoformat(), "customer_id": str(b["customer_id"])}
                add("overdue_return", severity, "open", "Equipment not returned on time", details,
                    (b["id"], None, None), created)  # fmt: skip
        for p in ctx.shared["payments"]:
            if p["status"] == "failed":
                details = {"amount": float(p["amount"]), "customer_id": str(p["customer_id"])}
                add("payment_failed", "warning", "open", "Payment failed", details, (None, p["id"], None), now)

        # History: late returns of completed bookings, since resolved.
        for b in bookings:
            if b["status"] == "completed" and b["ends_at"] <= now - 3 * _D and ctx.random.random() < 0.08:
                created = b["ends_at"] + _H * ctx.random.randint(2, 12)
                details = {"ends_at": b["ends_at"].isoformat(), "customer_id": str(b["customer_id"])}
                add("overdue_return", "warning", "resolved", "Equipment not returned on time", details,
                    (b["id"], None, None), created)  # fmt: skip

        # History: machines idle before the seeded window (no booking was made yet), resolved when
        # their first rental started, or dismissed.
        first_start: dict[Any, datetime] = {}
        for b in bookings:
            if b["status"] != "cancelled" and b["equipment_id"] not in first_start:
                first_start[b["equipment_id"]] = b["starts_at"]
        window_start = now - WINDOW_BACK
        for machine in ctx.shared["equipment"]:
            if ctx.random.random() >= 0.5:
                continue
            created = window_start - _D * ctx.random.randint(25, 60)
            details = {"last_booked_until": None}
            starts = first_start.get(machine)
            if starts is not None and starts <= now and ctx.random.random() < 0.6:
                acked_at = _between(ctx, created, created + _D * 3)
                rows.append(
                    (ctx.uuid(), "idle_equipment", "info", "resolved", "Equipment idle for 30 days", Jsonb(details),
                     None, None, machine, ctx.random.choice(admins), acked_at, ctx.random.choice(admins), starts,
                     created, starts)
                )  # fmt: skip
            else:
                add("idle_equipment", "info", "dismissed", "Equipment idle for 30 days", details,
                    (None, None, machine), created)  # fmt: skip

        # Manual alerts: about a booking under way, a machine, or nothing in particular.
        started = [b for b in bookings if b["starts_at"] <= now]
        subjects = ctx.random.sample(started, min(len(started), ctx.count(MANUAL_ALERTS_PER_SCALE)))
        machines: set[Any] = set()
        for index, b in enumerate(subjects):
            created = _between(ctx, b["starts_at"], min(now, b["ends_at"]))
            # The first is on the yard's list today.
            status = "open" if index == 0 else ctx.random.choice(("open", "acknowledged", "resolved", "dismissed"))
            severity = ctx.random.choice(("info", "warning", "warning", "critical"))
            title = MANUAL_TITLES[ctx.random.randrange(len(MANUAL_TITLES))]
            subject = (b["id"], None, None) if index % 3 == 0 else (None, None, None)
            if index % 3 == 2 and b["equipment_id"] not in machines:  # one manual alert per machine
                machines.add(b["equipment_id"])
                subject = (None, None, b["equipment_id"])
            add("manual", severity, status, title, {"note": title}, subject, created)
        return rows

    # Saved filters ----------------------------------------------------------

    def _saved_filters(self, ctx: SeedContext, admins: list[Any]) -> Iterator[tuple[Any, ...]]:
        categories = list(CATEGORIES)
        for admin in admins:
            names = list(FILTER_NAMES)
            ctx.random.shuffle(names)
            defaults: set[str] = set()
            for index in range(ctx.count(FILTERS_PER_ADMIN)):
                name = names[index % len(names)]
                if index >= len(names):
                    name = f"{name} ({index // len(names) + 1})"
                view = VIEWS[ctx.random.randrange(len(VIEWS))]
                is_default = view not in defaults and ctx.random.random() < 0.3
                if is_default:
                    defaults.add(view)
                created = ctx.now - _D * ctx.random.randint(1, 300) - _M * ctx.random.randint(0, 1439)
                updated = _between(ctx, created, ctx.now) if ctx.random.random() < 0.4 else created
                yield (ctx.uuid(), admin, name, view, Jsonb(_filters(ctx, view, categories)), is_default,
                       created, updated)  # fmt: skip

    # Exports ----------------------------------------------------------------

    def _exports(self, ctx: SeedContext, admins: list[Any], machines: int) -> Iterator[tuple[Any, ...]]:
        categories = list(CATEGORIES)
        for _ in range(ctx.count(EXPORTS_PER_SCALE)):
            export_id = ctx.uuid()
            admin = ctx.random.choice(admins)
            view = VIEWS[ctx.random.randrange(len(VIEWS))]
            fmt = ctx.random.choice(("csv", "csv", "xlsx", "json"))
            recent = ctx.random.random() < 0.15
            if recent:  # still in the queue
                created = ctx.now - _M * ctx.random.randint(0, 10)
                status = ctx.random.choice(("pending", "processing"))
            else:
                days = 7 if ctx.random.random() < 0.6 else 60  # most within the week the files are kept
                created = ctx.now - _M * ctx.random.randint(15, days * 24 * 60)
                status = "failed" if ctx.random.random() < 0.1 else "completed"
            path = rows = error = done = expires = None
            if status == "failed":
                error = EXPORT_ERRORS[ctx.random.randrange(len(EXPORT_ERRORS))]
            elif status == "completed":
                done = created + _S * ctx.random.randint(2, 600)
                expires = done + EXPORT_LIFETIME
                if expires <= ctx.now:
                    status = "expired"
                path = f"exports/{admin}/{export_id}.{fmt}"
                rows = {"kpis": 1, "equipment_utilization": machines}.get(view) or ctx.random.randint(1, 90)
            yield (export_id, admin, view, fmt, Jsonb(_filters(ctx, view, categories)), status, path, rows, error,
                   done, expires, created)  # fmt: skip


_S, _M, _H, _D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def _between(ctx: SeedContext, start: datetime, end: datetime) -> datetime:
    """A whole second in [start, end]."""
    return start + _S * ctx.random.randint(0, max(0, int((end - start).total_seconds())))


def _filters(ctx: SeedContext, view: str, categories: list[str]) -> dict[str, Any]:
    if view in ("revenue_trends", "booking_trends"):
        days = ctx.random.choice((7, 30, 90))
        return {"last_days": days, "currency": "USD"}
    if view == "equipment_utilization":
        return {"category": ctx.random.choice(categories), "max_utilization": ctx.random.choice((0.25, 0.5))}
    if view in ("alerts", "alert_candidates"):
        return {"kind": ctx.random.choice(("payment_overdue", "overdue_return", "idle_equipment", "manual"))}
    return {"currency": "USD"}
