"""The equipment seeder: media with their storage objects, maintenance, telematics and alerts."""

from __future__ import annotations

import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.equipment import BUCKET, EquipmentSeeder
from phase3test.seeding.phase3.users import UsersSeeder

SEEDERS = plan([UsersSeeder(), BaselineSeeder(), EquipmentSeeder()])
TABLES = {
    "public.equipment_media": "select * from public.equipment_media",
    "public.maintenance_logs": "select * from public.maintenance_logs",
    "public.maintenance_parts": "select * from public.maintenance_parts",
    "public.telematics_snapshots": "select * from public.telematics_snapshots",
    "public.maintenance_alerts": "select * from public.maintenance_alerts",
    "storage.objects": f"select * from storage.objects where bucket_id = '{BUCKET}'",
}

# name -> (violations, rows considered): each check must look at rows to pass.
INVARIANTS = {
    "bookings of one machine overlap": (
        """select count(*) from public.bookings a join public.bookings b
             on a.equipment_id = b.equipment_id and a.id < b.id
            and tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)""",
        "select count(*) from public.bookings",
    ),
    "media without its storage object of the same type, under the machine's folder": (
        """select count(*) from public.equipment_media m
             left join storage.objects o on o.bucket_id = 'equipment-media' and o.name = m.storage_path
            where o.id is null
               or split_part(o.metadata ->> 'mimetype', '/', 1) <> m.media_type
               or (storage.foldername(o.name))[1] <> m.equipment_id::text
               or o.owner is distinct from m.uploaded_by""",
        "select count(*) from public.equipment_media",
    ),
    "storage object of the bucket without a media row": (
        """select count(*) from storage.objects o where o.bucket_id = 'equipment-media'
              and not exists (select from public.equipment_media m where m.storage_path = o.name)""",
        "select count(*) from storage.objects where bucket_id = 'equipment-media'",
    ),
    "a machine's media sort order is not 0..n-1": (
        """select count(*) from (select equipment_id, array_agg(sort_order order by sort_order) as orders,
                                        count(*) as n from public.equipment_media group by equipment_id) x
            where x.orders <> array(select generate_series(0, x.n - 1))""",
        "select count(distinct equipment_id) from public.equipment_media",
    ),
    "engine hours go down over time (readings and logs on one clock)": (
        """select count(*) from (
             select equipment_id, engine_hours,
                    lag(engine_hours) over (partition by equipment_id order by at, engine_hours) as before
               from (select equipment_id, recorded_at as at, engine_hours from public.telematics_snapshots
                     union all
                     select equipment_id, performed_at, engine_hours from public.maintenance_logs) r) x
            where engine_hours < before""",
        "select (select count(*) from public.telematics_snapshots) + (select count(*) from public.maintenance_logs)",
    ),
    "reading received before it was recorded, or in the future": (
        """select count(*) from public.telematics_snapshots
            where received_at < recorded_at or received_at > %(now)s""",
        "select count(*) from public.telematics_snapshots",
    ),
    "maintenance logged before it was performed, or in the future": (
        """select count(*) from public.maintenance_logs
            where created_at < performed_at or updated_at < created_at or created_at > %(now)s""",
        "select count(*) from public.maintenance_logs",
    ),
    "part recorded apart from its log": (
        """select count(*) from public.maintenance_parts p join public.maintenance_logs l on l.id = p.maintenance_log_id
            where p.created_at <> l.created_at""",
        "select count(*) from public.maintenance_parts",
    ),
    "resolved alert not resolved by a log of its machine at resolved_at": (
        """select count(*) from public.maintenance_alerts a
             left join public.maintenance_logs l on l.id = a.maintenance_log_id
            where a.status = 'resolved'
              and (l.id is null or l.equipment_id <> a.equipment_id or l.performed_at <> a.resolved_at
                   or a.resolved_at <= a.created_at)""",
        "select count(*) from public.maintenance_alerts where status = 'resolved'",
    ),
    "acknowledgement out of order": (
        """select count(*) from public.maintenance_alerts
            where (status <> 'open') <> (acknowledged_at is not null and acknowledged_by is not null)
               or acknowledged_at < created_at or acknowledged_at > coalesce(resolved_at, %(now)s)""",
        "select count(*) from public.maintenance_alerts where acknowledged_at is not null",
    ),
    "telematics fault alert without a faulty reading at its start": (
        """select count(*) from public.maintenance_alerts a where a.alert_type = 'telematics_fault'
              and not exists (select from public.telematics_snapshots s
                               where s.equipment_id = a.equipment_id and s.recorded_at = a.created_at
                                 and cardinality(s.fault_codes) > 0)""",
        "select count(*) from public.maintenance_alerts where alert_type = 'telematics_fault'",
    ),
    "more than one unresolved alert per machine and kind": (
        """select count(*) from (select 1 from public.maintenance_alerts where status <> 'resolved'
                                  group by equipment_id, alert_type having count(*) > 1) x""",
        "select count(*) from public.maintenance_alerts where status <> 'resolved'",
    ),
}


def test_seeding_at_scale_1_and_5_fills_every_table(fresh_db):
    counts = {}
    for scale in (1, 5):
        with fresh_db.transaction(force_rollback=True):
            report = seed(fresh_db, SEEDERS, seed=1, scale=scale)
            counts[scale] = {
                t: fresh_db.execute(f"select count(*) from ({q}) t").fetchone()[0] for t, q in TABLES.items()
            }
        assert report.results[-1].name == "equipment"
        assert report.results[-1].tables == counts[scale]
    assert all(counts[1].values()), counts[1]
    assert all(counts[5][table] > counts[1][table] for table in TABLES), counts


@pytest.mark.parametrize("scale", [1, 5])
def test_business_invariants_hold(fresh_db, scale):
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=scale + 40, scale=scale)
        results = {
            name: (
                fresh_db.execute(violations, {"now": REFERENCE_TIME}).fetchone()[0],
                fresh_db.execute(considered).fetchone()[0],
            )
            for name, (violations, considered) in INVARIANTS.items()
        }
    assert {name: v for name, (v, _) in results.items() if v} == {}
    assert {name: n for name, (_, n) in results.items() if not n} == {}, "a check looked at no rows"


def test_a_violation_is_caught(fresh_db):
    """The checks can fail: break one row and its invariant counts it."""
    with fresh_db.transaction(force_rollback=True):
        seed(fresh_db, SEEDERS, seed=3, scale=1)
        fresh_db.execute(
            "update public.telematics_snapshots set engine_hours = 0"
            " where id = (select id from public.telematics_snapshots order by recorded_at desc limit 1)"
        )
        fresh_db.execute(
            "update public.bookings set ends_at = ends_at + interval '30 days'"
            " where id = (select id from public.bookings order by starts_at limit 1)"
        )
        hours, overlap = (
            fresh_db.execute(INVARIANTS[name][0], {"now": REFERENCE_TIME}).fetchone()[0]
            for name in ("engine hours go down over time (readings and logs on one clock)",
                         "bookings of one machine overlap")
        )  # fmt: skip
    assert hours > 0 and overlap > 0
