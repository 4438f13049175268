"""Bookings and logistics: wizard sessions, conflicts, notes, logistics tasks, pickup checklists, bulk operations.

Everything hangs off the baseline's bookings, read as the rows the baseline
loaded (`baseline_rows`).

Invariants the tests check: a submitted wizard session made its creator's
booking, with that booking's machine and dates; an active session has not
expired; a conflict names two bookings of its machine (a turnaround conflict
two back-to-back ones), was detected after both were made, and is resolved
by an admin after it was detected; notes come after their booking was made,
from staff or the system; every delivery assignment has a logistics task of
its kind, address and status; every pickup task has one checklist, completed
exactly when the task is, by the task's driver, with engine hours that only
grow per machine; completed bulk operations account for every booking and
left the bookings as they say (confirmed, cancelled, noted).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from random import Random
from typing import Any, TypeVar

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder

SECOND, MINUTE, HOUR, DAY = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

WIZARD_SESSIONS_PER_SCALE = 12
TRANSFERS_PER_SCALE = 3
BULK_OPERATIONS_PER_SCALE = 6
WIZARD_STEPS = ("equipment", "dates", "delivery", "extras", "review", "payment")
EXTRAS = ("operator", "extra_bucket", "damage_waiver", "fuel_prepaid", "weekend_return")
CHECKLIST_ITEMS = ("attachments present", "no visible damage", "fluid levels ok", "tracks or tyres ok", "keys returned")
CONDITIONS = ("good", "minor_damage", "major_damage", "missing_parts")
DAMAGE_NOTES = {
    "minor_damage": ("Scratched paint on the boom", "Dented step on the left side", "Cracked mirror housing"),
    "major_damage": ("Hydraulic hose torn, leaking", "Bent bucket teeth and cracked weld"),
    "missing_parts": ("Quick-coupler pin missing", "Spare key not returned"),
}
INTERNAL_NOTES = (
    "Customer asked for an early morning drop-off.",
    "Site access through the rear gate, call the foreman on arrival.",
    "Check the deposit before delivery.",
    "Repeat customer, prefers the same driver.",
    "Ground is soft on site: bring track mats.",
    "Invoice to the site office, not the head office.",
    "Customer mentioned they may extend by a few days.",
    "Pickup must be before 10:00, the site closes at noon.",
)
CUSTOMER_NOTES = (
    "Your delivery is confirmed for the morning of the start date.",
    "Please make sure the site gate is open for our driver.",
    "We have added track mats to your order at no charge.",
    "Remember to refuel before the pickup to avoid a fuel charge.",
    "Your extension request has been received.",
)
SYSTEM_NOTES = (
    "Confirmation email sent.",
    "Reminder sent 48 hours before the start.",
    "Deposit receipt sent.",
    "Contract sent for signature.",
)
BULK_NOTES = ("Weather warning: expect delivery delays.", "Holiday schedule: pickups moved to the next workday.")
RESOLUTIONS = {
    "turnaround_buffer": ("Same driver does the pickup and the next delivery.", "Early crew booked for the handover."),
    "double_booking": ("Second rental moved to start after the first is returned.",),
    "delivery_capacity": ("Extra driver booked for the day.", "Delivery moved to the evening before."),
    "maintenance": ("Service moved after the rental.",),
}
IGNORED = ("Customer collects the machine themselves.", "Checked with the depot: no real conflict.")
TASK_NOTES = ("Call the customer 30 minutes ahead.", "Low bridge on the access road.", "Bring the small trailer.")
FAILED_INSPECTION = ("Hydraulic leak found, sent to the workshop.", "Track tension out of spec, sent to the workshop.")


@dataclass(frozen=True)
class BaselineRows:
    """The baseline's rows as column -> value dicts, in the order it generated them."""

    equipment: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]


T = TypeVar("T")


def baseline_rows(ctx: SeedContext) -> BaselineRows:
    """The baseline's rows this run loaded, as column -> value dicts."""
    return BaselineRows(
        ctx.rows("public.equipment"),
        ctx.rows("public.bookings"),
        ctx.rows("public.payments"),
        ctx.rows("public.delivery_assignments"),
    )


def _starts_after(statuses: tuple[str, ...], moment: datetime, booking: dict[str, Any]) -> bool:
    return booking["status"] in statuses and booking["starts_at"] > moment


def _started_by(statuses: tuple[str, ...], moment: datetime, booking: dict[str, Any]) -> bool:
    return booking["status"] in statuses and booking["starts_at"] <= moment


def randint(rnd: Random, low: int, high: int) -> int:
    """An integer in [low, high]: `Random.randint` without its cost (a few draws per row add up)."""
    return low + int(rnd.random() * (high - low + 1))


def pick(rnd: Random, options: Sequence[T]) -> T:
    """One of `options`: `Random.choice` without its cost."""
    return options[int(rnd.random() * len(options))]


def between(rnd: Random, lo: datetime, hi: datetime) -> datetime:
    """A time in [lo, hi] to the second; lo when the range is empty."""
    if hi <= lo:
        return lo
    return lo + timedelta(seconds=int(rnd.random() * ((hi - lo) // SECOND + 1)))


class BookingsSeeder(Seeder):
    name = "bookings"
    tables = (
        "public.booking_wizard_sessions",
        "public.booking_conflicts",
        "public.booking_notes",
        "public.logistics_tasks",
        "public.pickup_checklists",
        "public.booking_bulk_operations",
    )
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        base = baseline_rows(ctx)
        users = ctx.shared["users"]
        admins = [*users["admin"], *users["super_admin"]]
        addresses = [ctx.faker.street_address() for _ in range(30)]
        depots = [f"{ctx.faker.city()} depot" for _ in range(4)]
        # Only bookings made by now have a history (the baseline also makes bookings "in the future").
        known = [b for b in base.bookings if b["created_at"] <= ctx.now]

        yield Batch(
            "public.booking_wizard_sessions",
            ("id", "created_by", "equipment_id", "booking_id", "current_step", "status", "draft", "expires_at",
             "created_at", "updated_at"),
            self._wizard_sessions(ctx, base, known, users["customer"], addresses),
        )  # fmt: skip
        yield Batch(
            "public.booking_conflicts",
            ("id", "booking_id", "conflicting_booking_id", "equipment_id", "conflict_type", "status", "detected_at",
             "resolved_by", "resolved_at", "resolution_notes", "created_at"),
            self._conflicts(ctx, base, admins),
        )  # fmt: skip
        operations, bulk_notes = self._bulk_operations(ctx, known, admins)
        yield Batch(
            "public.booking_notes",
            ("id", "booking_id", "author_id", "body", "is_internal", "created_at", "updated_at"),
            [*self._notes(ctx, known, admins), *bulk_notes],
        )
        tasks, checklists = self._logistics(ctx, base, users["admin"], depots)
        yield Batch(
            "public.logistics_tasks",
            ("id", "booking_id", "equipment_id", "task_type", "status", "scheduled_date", "window_start",
             "window_end", "assigned_to", "address", "notes", "completed_at", "created_at", "updated_at"),
            tasks,
        )  # fmt: skip
        yield Batch(
            "public.pickup_checklists",
            ("id", "task_id", "booking_id", "status", "items", "equipment_condition", "fuel_level_pct",
             "engine_hours", "damage_notes", "photo_paths", "completed_by", "completed_at", "created_at",
             "updated_at"),
            checklists,
        )  # fmt: skip
        yield Batch(
            "public.booking_bulk_operations",
            ("id", "operation_type", "status", "booking_ids", "parameters", "processed_count", "failed_count",
             "errors", "requested_by", "started_at", "completed_at", "created_at"),
            operations,
        )  # fmt: skip
        ctx.shared["logistics_tasks"] = [task[0] for task in tasks]

    def _wizard_sessions(
        self,
        ctx: SeedContext,
        base: BaselineRows,
        known: list[dict[str, Any]],
        customers: list[Any],
        addresses: list[str],
    ) -> list[tuple[Any, ...]]:
        rnd, rows = ctx.random, []
        delivered_to = {d["booking_id"]: d["address"] for d in base.deliveries if d["kind"] == "delivery"}
        wizard_users = set(customers)  # staff who rent book at the counter, not through the wizard
        for booking in known:  # the customers who booked through the wizard
            if booking["customer_id"] not in wizard_users or rnd.random() >= 0.4:
                continue
            submitted, started = booking["created_at"], booking["created_at"] - randint(rnd, 5, 90) * MINUTE
            draft: dict[str, Any] = {
                "equipment_id": str(booking["equipment_id"]),
                "starts_at": booking["starts_at"].isoformat(),
                "ends_at": booking["ends_at"].isoformat(),
                "delivery_address": delivered_to.get(booking["id"]) or pick(rnd, addresses),
                "extras": rnd.sample(EXTRAS, randint(rnd, 0, 2)),
            }
            rows.append(
                (ctx.uuid(), booking["customer_id"], booking["equipment_id"], booking["id"], "payment", "submitted",
                 Jsonb(draft), submitted + 7 * DAY, started, submitted)
            )  # fmt: skip
        for _ in range(ctx.count(WIZARD_SESSIONS_PER_SCALE)):  # unfinished ones
            step = rnd.randrange(len(WIZARD_STEPS))
            started = between(rnd, ctx.now - 30 * DAY, ctx.now - 10 * MINUTE)
            updated = min(started + randint(rnd, 1, 120) * MINUTE, ctx.now)
            expires = updated + 7 * DAY  # every save extends the session
            if expires <= ctx.now:
                status = pick(rnd, ("expired", "expired", "abandoned"))
            else:
                status = pick(rnd, ("active", "active", "abandoned"))
            machine = pick(rnd, base.equipment)["id"] if step > 0 else None
            draft = {}
            if step > 0:
                draft["equipment_id"] = str(machine)
            if step > 1:
                starts = (updated + randint(rnd, 1, 30) * DAY).replace(hour=8, minute=0, second=0)
                draft["starts_at"] = starts.isoformat()
                draft["ends_at"] = (starts + randint(rnd, 1, 7) * DAY).isoformat()
            if step > 2:
                draft["delivery_address"] = pick(rnd, addresses)
            if step > 3:
                draft["extras"] = rnd.sample(EXTRAS, randint(rnd, 0, 2))
            rows.append(
                (ctx.uuid(), pick(rnd, customers), machine, None, WIZARD_STEPS[step], status, Jsonb(draft),
                 expires, started, updated)
            )  # fmt: skip
        return rows

    def _conflicts(self, ctx: SeedContext, base: BaselineRows, admins: list[Any]) -> list[tuple[Any, ...]]:
        rnd, rows = ctx.random, []

        def add(booking: dict[str, Any], other: dict[str, Any] | None, kind: str, detected: datetime, open_: bool):
            if open_:
                status, resolver, resolved, notes = "open", None, None, None
            else:
                status = "resolved" if rnd.random() < 0.75 else "ignored"
                resolver = pick(rnd, admins)
                resolved = between(rnd, detected, max(detected, min(ctx.now, booking["starts_at"])))
                notes = pick(rnd, RESOLUTIONS[kind] if status == "resolved" else IGNORED)
            rows.append(
                (ctx.uuid(), booking["id"], other["id"] if other else None, booking["equipment_id"], kind, status,
                 detected, resolver, resolved, notes, detected)
            )  # fmt: skip

        machines: dict[Any, list[dict[str, Any]]] = {m["id"]: [] for m in base.equipment}
        for booking in base.bookings:
            if booking["status"] != "cancelled":
                machines[booking["equipment_id"]].append(booking)
        in_maintenance = {m["id"] for m in base.equipment if m["status"] == "maintenance"}
        for machine, bookings in machines.items():
            # Back to back with less than a day between: too little time to bring, check and clean the machine.
            for before, after in itertools.pairwise(bookings):
                if after["starts_at"] - before["ends_at"] >= DAY:
                    continue
                detected = max(before["created_at"], after["created_at"]) + randint(rnd, 1, 120) * MINUTE
                if detected > ctx.now:
                    continue
                upcoming = after["starts_at"] > ctx.now
                add(after, before, "turnaround_buffer", detected, upcoming and rnd.random() < 0.8)
                if not upcoming and rnd.random() < 0.15:  # asked first for overlapping dates, then moved
                    add(after, before, "double_booking", detected, False)
            if machine in in_maintenance:
                for booking in bookings:
                    if booking["status"] in ("pending", "confirmed", "active") and booking["created_at"] <= ctx.now:
                        detected = between(rnd, max(booking["created_at"], ctx.now - 3 * DAY), ctx.now)
                        add(booking, None, "maintenance", detected, True)
        # More deliveries on one day than the drivers can make.
        capacity = 2 * ctx.scale
        per_day: dict[Any, list[Any]] = {}
        for booking in base.bookings:
            if booking["status"] in ("confirmed", "active", "completed"):
                per_day.setdefault(booking["starts_at"].date(), []).append(booking)
        for bookings in per_day.values():
            for booking in bookings[capacity:]:
                if booking["created_at"] <= ctx.now:
                    detected = booking["created_at"] + randint(rnd, 1, 60) * MINUTE
                    add(booking, None, "delivery_capacity", detected, booking["starts_at"] > ctx.now)
        return rows

    def _notes(self, ctx: SeedContext, known: list[dict[str, Any]], admins: list[Any]) -> list[tuple[Any, ...]]:
        rnd, rows = ctx.random, []
        for booking in known:
            if rnd.random() >= 0.5:
                continue
            latest = min(ctx.now, booking["ends_at"] + DAY)
            for _ in range(randint(rnd, 1, 3)):
                written = between(rnd, booking["created_at"], latest)
                kind = rnd.random()
                if kind < 0.2:
                    author, body, internal = None, pick(rnd, SYSTEM_NOTES), True
                elif kind < 0.45:
                    author, body, internal = pick(rnd, admins), pick(rnd, CUSTOMER_NOTES), False
                else:
                    author, body, internal = pick(rnd, admins), pick(rnd, INTERNAL_NOTES), True
                edited = min(written + randint(rnd, 1, 30) * MINUTE, ctx.now) if rnd.random() < 0.1 else written
                rows.append((ctx.uuid(), booking["id"], author, body, internal, written, edited))
        return rows

    def _logistics(
        self, ctx: SeedContext, base: BaselineRows, drivers: list[Any], depots: list[str]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """A task per baseline delivery assignment, inspection and cleaning after a return, depot transfers."""
        rnd, now = ctx.random, ctx.now
        tasks: list[tuple[Any, ...]] = []
        checklists: list[tuple[Any, ...]] = []
        bookings = {b["id"]: b for b in base.bookings}
        engine_hours = {m["id"]: Decimal(randint(rnd, 2000, 30000)) / 10 for m in base.equipment}

        def task(booking, machine, kind, start, end, done, address, created, note=None, status=None):
            if status is None:
                if done:
                    status = "completed"
                elif start <= now:
                    status = "in_progress"
                else:
                    status = "pending" if start > now + 7 * DAY and rnd.random() < 0.5 else "scheduled"
            driver = None if status == "pending" else pick(rnd, drivers)
            completed = between(rnd, start, min(end, now)) if status == "completed" else None
            row = (
                ctx.uuid(), booking["id"] if booking else None, machine, kind, status, start.date(), start, end,
                driver, address, note, completed, created, completed or created,
            )  # fmt: skip
            tasks.append(row)
            return row

        for delivery in base.deliveries:  # in booking order, so a machine's pickups come in time order
            booking = bookings[delivery["booking_id"]]
            machine, created = booking["equipment_id"], booking["created_at"] + randint(rnd, 10, 180) * MINUTE
            done = delivery["status"] == "completed"
            note = pick(rnd, TASK_NOTES) if rnd.random() < 0.15 else None
            if delivery["kind"] == "delivery":
                at = delivery["scheduled_for"]
                task(booking, machine, "delivery", at - HOUR, at + HOUR, done, delivery["address"], created, note)
                continue
            start = delivery["scheduled_for"]
            pickup = task(booking, machine, "pickup", start, start + 3 * HOUR, done, delivery["address"], created, note)
            checklists.append(self._checklist(ctx, pickup, engine_hours, booking))
            if booking["status"] == "completed":  # back at the depot: inspect, then clean
                inspected = start + 4 * HOUR
                failed = rnd.random() < 0.08 and inspected + 2 * HOUR <= now
                note = pick(rnd, FAILED_INSPECTION) if failed else None
                status = "failed" if failed else None
                task(booking, machine, "inspection", inspected, inspected + 2 * HOUR, inspected + 2 * HOUR <= now,
                     None, start, note, status)  # fmt: skip
                cleaned = start + 6 * HOUR
                task(booking, machine, "cleaning", cleaned, cleaned + 3 * HOUR, cleaned + 3 * HOUR <= now, None, start)
        for _ in range(ctx.count(TRANSFERS_PER_SCALE)):  # machines moved between depots
            machine = pick(rnd, base.equipment)["id"]
            start = between(rnd, now - 20 * DAY, now + 20 * DAY).replace(minute=0, second=0)
            end = start + randint(rnd, 2, 5) * HOUR
            created = start - randint(rnd, 1, 5) * DAY
            cancelled = end <= now and rnd.random() < 0.15
            task(None, machine, "transfer", start, end, end <= now and not cancelled, pick(rnd, depots), created,
                 status="cancelled" if cancelled else None)  # fmt: skip
        return tasks, checklists

    def _checklist(
        self, ctx: SeedContext, pickup: tuple[Any, ...], engine_hours: dict[Any, Decimal], booking: dict[str, Any]
    ) -> tuple[Any, ...]:
        rnd = ctx.random
        task_id, booking_id, machine, _kind, status = pickup[:5]
        driver, completed, created = pickup[8], pickup[11], pickup[12]
        if status != "completed":
            pending: list[dict[str, Any]] = [{"item": item, "ok": None, "note": None} for item in CHECKLIST_ITEMS]
            return (ctx.uuid(), task_id, booking_id, "pending", Jsonb(pending), None, None, None, None, [], None, None,
                    created, created)  # fmt: skip
        condition = rnd.choices(CONDITIONS, weights=(80, 12, 3, 5))[0]
        items = [
            {
                "item": item,
                "ok": not (
                    (item == "no visible damage" and condition in ("minor_damage", "major_damage"))
                    or (item == "attachments present" and condition == "missing_parts")
                ),
                "note": None,
            }
            for item in CHECKLIST_ITEMS
        ]
        days = (booking["ends_at"] - booking["starts_at"]).days
        engine_hours[machine] += Decimal(randint(rnd, 30 * days, 90 * days)) / 10
        photos = [f"pickups/{booking_id}/{n}.jpg" for n in range(1, randint(rnd, 2, 5))]
        return (
            ctx.uuid(), task_id, booking_id, "completed", Jsonb(items), condition,
            Decimal(randint(rnd, 500, 10000)) / 100, engine_hours[machine],
            pick(rnd, DAMAGE_NOTES[condition]) if condition != "good" else None, photos, driver, completed,
            created, completed,
        )  # fmt: skip

    def _bulk_operations(
        self, ctx: SeedContext, known: list[dict[str, Any]], admins: list[Any]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Each kind with what it did: confirmations and cancellations match the bookings' status now."""
        rnd, now = ctx.random, ctx.now
        operations: list[tuple[Any, ...]] = []
        notes: list[tuple[Any, ...]] = []
        kinds = ("confirm", "cancel", "add_note", "export", "reschedule", "assign_driver")
        by_creation = sorted(known, key=lambda b: b["created_at"])
        creation_times = [b["created_at"] for b in by_creation]

        def some(made: list[dict[str, Any]], wanted: int, fits: Callable[[dict[str, Any]], bool]) -> list[Any]:
            """Up to `wanted` distinct bookings that fit, drawn from `made` (a bounded number of draws)."""
            found: dict[Any, dict[str, Any]] = {}
            for _ in range(40 if made else 0):
                booking = pick(rnd, made)
                if fits(booking):
                    found[booking["id"]] = booking
                    if len(found) == wanted:
                        break
            return list(found.values())

        for index in range(ctx.count(BULK_OPERATIONS_PER_SCALE)):
            kind, requester = kinds[index % len(kinds)], pick(rnd, admins)
            waiting = kind == "reschedule"
            at = between(rnd, now - 6 * HOUR, now) if waiting else between(rnd, now - 40 * DAY, now - HOUR)
            made = by_creation[: bisect.bisect_right(creation_times, at)]
            wanted, wanted_failing = randint(rnd, 2, 6), randint(rnd, 0, 2)
            parameters: dict[str, Any] = {}
            error = ""
            if kind == "confirm":  # pending at the time, confirmed now; still-pending ones failed
                done = some(made, wanted, partial(_starts_after, ("confirmed", "active", "completed"), at))
                failing = some(made, wanted_failing, lambda b: b["status"] == "pending")
                error = "deposit not paid"
            elif kind == "cancel":
                done = some(made, wanted, partial(_starts_after, ("cancelled",), at))
                failing = some(made, wanted_failing, partial(_started_by, ("active", "completed"), at))
                error = "rental already started"
                parameters = {"reason": "customer request"}
            elif kind in ("add_note", "export"):
                done, failing = some(made, wanted, lambda b: True), []
                if kind == "add_note":
                    parameters = {"body": pick(rnd, BULK_NOTES), "is_internal": True}
                else:
                    parameters = {"format": "csv", "columns": ["id", "customer_id", "starts_at", "ends_at", "status"]}
            elif kind == "reschedule":  # requested, not run yet (or called off): nothing changed
                done, failing = some(made, wanted, lambda b: b["status"] == "confirmed"), []
                parameters = {"shift_days": randint(rnd, 1, 3)}
            else:  # assign_driver: every booking refused, nothing changed
                done, failing = [], some(made, wanted, lambda b: b["status"] in ("confirmed", "active"))
                error = "driver fully booked that day"
                parameters = {"driver_id": str(pick(rnd, admins))}
            if not done and not failing:
                continue
            targets = [b["id"] for b in (*done, *failing)]
            errors = [{"booking_id": str(b["id"]), "error": error} for b in failing]
            if waiting:
                status = pick(rnd, ("pending", "cancelled"))
                started = completed = None
                processed = failed = 0
                errors = []
            else:
                status = "failed" if not done else "completed"
                started = at + randint(rnd, 1, 60) * SECOND
                completed = started + randint(rnd, 2, 300) * SECOND
                processed, failed = len(done), len(failing)
            operations.append(
                (ctx.uuid(), kind, status, targets, Jsonb(parameters), processed, failed, Jsonb(errors), requester,
                 started, completed, at)
            )  # fmt: skip
            if kind == "add_note" and status == "completed":
                notes.extend(
                    (ctx.uuid(), b["id"], requester, parameters["body"], True, completed, completed) for b in done
                )
        return operations, notes
