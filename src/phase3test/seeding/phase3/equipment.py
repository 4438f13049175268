"""Equipment media, maintenance history with parts, telematics readings and maintenance alerts.

Every machine gets a few photos (and sometimes a walkaround video), each a
row in equipment_media and an object in the private `equipment-media` bucket;
a maintenance log every one to two and a half months over the last year, with
the parts it used; a telematics reading every six hours over the last 30
days; and alerts.

Invariants the tests check: a machine's engine hours never go down, across
its telematics readings and maintenance logs alike (both read one clock per
machine); every media row has its storage object, of the same media type,
under the machine's own folder; a resolved alert is resolved by a
maintenance log of the same machine performed at its `resolved_at`, and was
acknowledged in between; a telematics fault alert starts at a reading that
reported a fault code; at most one unresolved alert per machine and kind.

Machines were created 400 days or more before `ctx.now` (baseline), so
everything here happens after them. The equipment row's own Phase 3 columns
(primary_media_id, total_engine_hours, ...) belong to the baseline's rows and
keep their defaults: seeders only add rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from phase3test.seeding.model import Batch, SeedContext, Seeder

BUCKET = "equipment-media"
HISTORY = timedelta(days=365)
TELEMATICS_WINDOW, TELEMATICS_EVERY = timedelta(days=30), timedelta(hours=6)
CLOCK_START = timedelta(days=400)  # engine hours are counted from here (machines are at least this old)
PHOTOS = ("front", "rear", "left-side", "right-side", "cab", "controls", "attachment", "serial-plate")
IMAGE_TYPES = (("jpg", "image/jpeg"), ("jpg", "image/jpeg"), ("webp", "image/webp"), ("png", "image/png"))
SITES = (  # (latitude, longitude) of yards and job sites
    (40.7128, -74.0060), (34.0522, -118.2437), (41.8781, -87.6298), (29.7604, -95.3698),
    (33.4484, -112.0740), (39.9526, -75.1652), (32.7767, -96.7970), (47.6062, -122.3321),
    (39.7392, -104.9903), (25.7617, -80.1918), (45.5152, -122.6784), (36.1627, -86.7816),
)  # fmt: skip
KINDS = ("preventive", "preventive", "preventive", "inspection", "inspection", "corrective", "repair")
SUMMARIES = {
    "preventive": ("250-hour service", "500-hour service", "Oil and filter change", "Greasing and fluid top-up"),
    "inspection": ("Annual safety inspection", "Pre-season inspection", "Hydraulics inspection"),
    "corrective": ("Replaced leaking hydraulic hose", "Fixed coolant leak", "Adjusted track tension"),
    "repair": ("Starter motor replaced", "Alternator rebuilt", "Cracked bucket tooth replaced"),
}
VENDORS = (None, None, "Acme Heavy Service", "Northside Hydraulics", "RapidFix Mobile Mechanics", "OEM dealer")
PARTS = {
    "preventive": (
        ("OF-1042", "Engine oil filter", Decimal("18.50")),
        ("EO-15W40", "Engine oil 15W-40 (litre)", Decimal("6.20")),
        ("AF-2210", "Air filter element", Decimal("42.00")),
        ("FF-0871", "Fuel filter", Decimal("27.75")),
    ),
    "corrective": (
        ("HH-3308", "Hydraulic hose assembly", Decimal("96.40")),
        ("CL-0190", "Coolant hose clamp", Decimal("4.10")),
        ("HF-5521", "Hydraulic fluid (litre)", Decimal("8.90")),
    ),
    "repair": (
        ("SM-7710", "Starter motor", Decimal("412.00")),
        ("AL-6620", "Alternator", Decimal("365.00")),
        ("BT-0044", "Bucket tooth", Decimal("38.00")),
        ("BL-1200", "Battery 12V 100Ah", Decimal("189.90")),
    ),
}
LABOR = {"preventive": (80, 320), "inspection": (60, 180), "corrective": (150, 600), "repair": (250, 1400)}
FAULT_CODES = ("P0217", "P0520", "P0087", "P2263", "U0100", "P0128")
CALENDAR_ALERT_FOR = {"preventive": "engine_hours", "inspection": "inspection_due"}
SEVERITIES = ("info", "warning", "warning", "critical")


class EquipmentSeeder(Seeder):
    name = "equipment"
    tables = (
        "public.equipment_media",
        "storage.objects",
        "public.maintenance_logs",
        "public.maintenance_parts",
        "public.telematics_snapshots",
        "public.maintenance_alerts",
    )
    depends_on = ("baseline",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        machines = ctx.shared["equipment"]
        admins = ctx.shared["users"]["admin"] + ctx.shared["users"]["super_admin"]
        captions = [ctx.faker.sentence(nb_words=6) for _ in range(24)]
        notes = [None, None, *(ctx.faker.sentence(nb_words=12) for _ in range(16))]
        # One engine-hour clock per machine: hours at CLOCK_START and hours run per day.
        clocks = {m: (ctx.random.randint(150, 4000), ctx.random.uniform(1.5, 7.0)) for m in machines}

        media, objects = self._media(ctx, machines, admins, captions)
        yield Batch(
            "public.equipment_media",
            ("id", "equipment_id", "storage_path", "media_type", "caption", "sort_order", "uploaded_by", "created_at"),
            media,
        )
        yield Batch(
            "storage.objects",
            ("id", "bucket_id", "name", "owner", "owner_id", "created_at", "updated_at", "last_accessed_at",
             "metadata", "version"),
            objects,
        )  # fmt: skip

        snapshots, faults = self._telematics(ctx, machines, clocks)
        logs, parts, alerts = self._maintenance(ctx, machines, admins, clocks, notes, faults)
        yield Batch(
            "public.maintenance_logs",
            ("id", "equipment_id", "kind", "summary", "notes", "vendor", "performed_by", "performed_at",
             "engine_hours", "labor_cost", "currency", "created_at", "updated_at"),
            logs,
        )  # fmt: skip
        yield Batch(
            "public.maintenance_parts",
            ("id", "maintenance_log_id", "part_number", "description", "quantity", "unit_cost", "currency",
             "created_at"),
            parts,
        )  # fmt: skip
        yield Batch(
            "public.telematics_snapshots",
            ("id", "equipment_id", "recorded_at", "latitude", "longitude", "engine_hours", "fuel_level_pct",
             "fault_codes", "payload", "received_at"),
            snapshots,
        )  # fmt: skip
        yield Batch(
            "public.maintenance_alerts",
            ("id", "equipment_id", "alert_type", "severity", "status", "message", "due_at", "acknowledged_by",
             "acknowledged_at", "resolved_at", "maintenance_log_id", "created_at"),
            alerts,
        )  # fmt: skip
        ctx.shared["equipment_media"] = [m[0] for m in media]
        ctx.shared["maintenance_logs"] = [log[0] for log in logs]

    def _media(
        self, ctx: SeedContext, machines: list[Any], admins: list[Any], captions: list[str]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        media, objects = [], []
        for machine in machines:
            uploaded = ctx.now - timedelta(days=ctx.random.randint(300, 390), hours=ctx.random.randint(0, 23))
            uploader = ctx.random.choice(admins)
            names = ctx.random.sample(PHOTOS, ctx.random.randint(2, 5))
            files = [(name, *ctx.random.choice(IMAGE_TYPES)) for name in names]
            if ctx.random.random() < 0.3:
                files.append(("walkaround", "mp4", "video/mp4"))
            for order, (name, extension, mime) in enumerate(files):
                path = f"{machine}/{name}.{extension}"
                at = uploaded + timedelta(seconds=17 * order)
                media_type = mime.partition("/")[0]
                media.append((ctx.uuid(), machine, path, media_type, ctx.random.choice(captions), order, uploader, at))
                size = (
                    ctx.random.randint(8_000_000, 90_000_000)
                    if media_type == "video"
                    else ctx.random.randint(150_000, 4_000_000)
                )
                metadata = {
                    "eTag": f'"{hashlib.md5(path.encode()).hexdigest()}"',
                    "size": size,
                    "mimetype": mime,
                    "cacheControl": "max-age=3600",
                    "lastModified": at.isoformat(),
                    "contentLength": size,
                    "httpStatusCode": 200,
                }
                objects.append(
                    (ctx.uuid(), BUCKET, path, uploader, str(uploader), at, at, at, Jsonb(metadata), str(ctx.uuid()))
                )
        return media, objects

    def _telematics(
        self, ctx: SeedContext, machines: list[Any], clocks: dict[Any, tuple[int, float]]
    ) -> tuple[list[tuple[Any, ...]], dict[Any, tuple[datetime, str]]]:
        """A reading every six hours; some machines report one fault code once (machine -> (time, code))."""
        rows: list[tuple[Any, ...]] = []
        faults: dict[Any, tuple[datetime, str]] = {}
        steps = int(TELEMATICS_WINDOW / TELEMATICS_EVERY)
        rand, uuid, uniform = ctx.random.random, ctx.uuid, ctx.random.uniform
        clock_start = ctx.now - CLOCK_START
        for machine in machines:
            base_hours, per_day = clocks[machine]
            latitude, longitude = ctx.random.choice(SITES)
            latitude, longitude = latitude + uniform(-0.2, 0.2), longitude + uniform(-0.2, 0.2)
            first = ctx.now - TELEMATICS_WINDOW + timedelta(minutes=ctx.random.randint(0, 359))
            fault_at = ctx.random.randrange(steps) if rand() < 0.3 else -1
            fuel = uniform(40, 100)
            burn = per_day / 4 * uniform(0.8, 1.6)  # % of the tank per six hours
            for step in range(steps):
                recorded = first + step * TELEMATICS_EVERY
                if recorded > ctx.now:
                    break
                hours = base_hours + per_day * (recorded - clock_start).total_seconds() / 86400
                if rand() < 0.02:  # moved to another site
                    latitude, longitude = ctx.random.choice(SITES)
                fuel -= burn * rand() * 2
                if fuel < 12:
                    fuel = uniform(92, 100)
                codes: list[str] = []
                if step == fault_at:
                    code = ctx.random.choice(FAULT_CODES)
                    codes, faults[machine] = [code], (recorded, code)
                if rand() < 0.6:
                    rpm, coolant, ignition = int(uniform(900, 2200)), int(uniform(70, 98)), "true"
                else:
                    rpm, coolant, ignition = 0, int(uniform(8, 30)), "false"
                payload = Jsonb(  # written out here: cheaper than json.dumps on a dict, 48,000 times at scale 50
                    f'{{"rpm": {rpm}, "ignition": {ignition}, "battery_v": {uniform(12.2, 14.4):.2f},'
                    f' "coolant_c": {coolant}}}',
                    dumps=str,
                )
                rows.append(
                    (
                        uuid(), machine, recorded,
                        Decimal(f"{latitude + uniform(-0.0005, 0.0005):.6f}"),
                        Decimal(f"{longitude + uniform(-0.0005, 0.0005):.6f}"),
                        Decimal(f"{hours:.1f}"), Decimal(f"{fuel:.2f}"), codes, payload,
                        recorded + timedelta(seconds=int(uniform(1, 90))),
                    )
                )  # fmt: skip
        return rows, faults

    def _maintenance(
        self,
        ctx: SeedContext,
        machines: list[Any],
        admins: list[Any],
        clocks: dict[Any, tuple[int, float]],
        notes: list[str | None],
        faults: dict[Any, tuple[datetime, str]],
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        logs: list[tuple[Any, ...]] = []
        parts: list[tuple[Any, ...]] = []
        alerts: list[tuple[Any, ...]] = []
        clock_start = ctx.now - CLOCK_START

        def hours_at(machine: Any, at: datetime) -> Decimal:
            base_hours, per_day = clocks[machine]
            return Decimal(str(round(base_hours + per_day * (at - clock_start).total_seconds() / 86400, 1)))

        def log(machine: Any, kind: str, performed: datetime) -> tuple[Any, ...]:
            low, high = LABOR[kind]
            created = performed + timedelta(hours=ctx.random.randint(1, 6))
            row = (
                ctx.uuid(), machine, kind, ctx.random.choice(SUMMARIES[kind]), ctx.random.choice(notes),
                ctx.random.choice(VENDORS), ctx.random.choice(admins), performed, hours_at(machine, performed),
                Decimal(ctx.random.randint(low, high)), "USD", created, created,
            )  # fmt: skip
            logs.append(row)
            for part_number, description, unit_cost in ctx.random.sample(
                PARTS.get(kind, ()), min(len(PARTS.get(kind, ())), ctx.random.randint(0, 3))
            ):
                quantity = Decimal(ctx.random.randint(1, 8)) if unit_cost < 10 else Decimal(1)
                parts.append((ctx.uuid(), row[0], part_number, description, quantity, unit_cost, "USD", created))
            return row

        def alert(
            machine: Any, kind: str, severity: str, message: str, created: datetime, due: datetime | None,
            resolved_by: tuple[Any, ...] | None, acknowledged: bool,
        ) -> None:  # fmt: skip
            resolved = resolved_by[7] if resolved_by else None
            ack_by = ack_at = None
            if acknowledged or resolved_by:
                ack_by = ctx.random.choice(admins)
                until = resolved if resolved else ctx.now
                ack_at = created + (until - created) * ctx.random.uniform(0.05, 0.6)
            status = "resolved" if resolved_by else ("acknowledged" if acknowledged else "open")
            alerts.append(
                (ctx.uuid(), machine, kind, severity, status, message, due, ack_by, ack_at, resolved,
                 resolved_by[0] if resolved_by else None, created)
            )  # fmt: skip

        for machine in machines:
            unresolved: set[str] = set()
            performed = ctx.now - HISTORY + timedelta(days=ctx.random.randint(0, 40), hours=ctx.random.randint(7, 16))
            while performed < ctx.now - timedelta(days=2):
                kind = ctx.random.choice(KINDS)
                row = log(machine, kind, performed)
                if kind in CALENDAR_ALERT_FOR and ctx.random.random() < 0.7:
                    raised = performed - timedelta(days=ctx.random.randint(1, 12), hours=ctx.random.randint(0, 23))
                    alert_type = CALENDAR_ALERT_FOR[kind] if ctx.random.random() < 0.7 else "calendar"
                    alert(machine, alert_type, ctx.random.choice(SEVERITIES), f"{row[3]} due", raised,
                          performed + timedelta(days=3), row, False)  # fmt: skip
                performed += timedelta(days=ctx.random.randint(30, 75), hours=ctx.random.randint(-3, 3))
            if machine in faults:  # the fault a reading reported: repaired a day or three later, or still open
                at, code = faults[machine]
                repaired = at + timedelta(days=ctx.random.randint(1, 3), hours=ctx.random.randint(0, 8))
                fixed = log(machine, "corrective", repaired) if repaired < ctx.now else None
                alert(machine, "telematics_fault", "critical", f"Fault code {code} reported", at, None, fixed,
                      ctx.random.random() < 0.5)  # fmt: skip
                if not fixed:
                    unresolved.add("telematics_fault")
            for alert_type in ("engine_hours", "calendar", "inspection_due"):
                if ctx.random.random() < 0.2 and alert_type not in unresolved:
                    raised = ctx.now - timedelta(days=ctx.random.randint(0, 13), hours=ctx.random.randint(1, 23))
                    due = ctx.now + timedelta(days=ctx.random.randint(1, 21))
                    alert(machine, alert_type, ctx.random.choice(SEVERITIES), f"{alert_type.replace('_', ' ')} due",
                          raised, due, None, ctx.random.random() < 0.4)  # fmt: skip
                    unresolved.add(alert_type)
        return logs, parts, alerts
