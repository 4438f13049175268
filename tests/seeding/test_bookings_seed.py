"""The bookings seeder: it loads, fills every table of its domain, keeps its business rules and is deterministic."""

from __future__ import annotations

import pytest

from phase3test.seeding import REFERENCE_TIME, plan, seed
from phase3test.seeding.phase3.baseline import BaselineSeeder
from phase3test.seeding.phase3.bookings import BookingsSeeder
from phase3test.seeding.phase3.users import UsersSeeder

SEEDERS = plan([UsersSeeder(), BaselineSeeder(), BookingsSeeder()])
TABLES = BookingsSeeder.tables

# Each query returns (violations, rows considered); %(now)s is the reference time, %(capacity)s deliveries a day.
INVARIANTS = {
    "submitted wizard session is not its creator's booking, machine and dates": """
        select count(*) filter (where b.id is null or w.status <> 'submitted' or b.customer_id <> w.created_by
                                   or b.equipment_id is distinct from w.equipment_id
                                   or (w.draft ->> 'starts_at')::timestamptz <> b.starts_at
                                   or (w.draft ->> 'ends_at')::timestamptz <> b.ends_at
                                   or w.updated_at <> b.created_at or w.created_at >= b.created_at),
               count(*)
          from public.booking_wizard_sessions w left join public.bookings b on b.id = w.booking_id
         where w.booking_id is not null or w.status = 'submitted'""",
    "wizard session times or expiry disagree with its status": """
        select count(*) filter (where w.updated_at < w.created_at or w.updated_at > %(now)s
                                   or w.expires_at <= w.updated_at
                                   or (w.status = 'active' and w.expires_at <= %(now)s)
                                   or (w.status = 'expired' and w.expires_at > %(now)s)
                                   or (w.equipment_id is null) <> (w.current_step = 'equipment')
                                   or u.role <> 'customer'),
               count(*)
          from public.booking_wizard_sessions w join public.users u on u.id = w.created_by""",
    "conflict outside its machine, before its bookings were made or badly resolved": """
        select count(*) filter (where c.equipment_id <> b.equipment_id or o.equipment_id <> c.equipment_id
                                   or c.detected_at < b.created_at or c.detected_at < o.created_at
                                   or c.detected_at > %(now)s or c.created_at <> c.detected_at
                                   or (c.status = 'open') <> (c.resolved_by is null)
                                   or (c.status = 'open') <> (c.resolution_notes is null)
                                   or c.resolved_at < c.detected_at or c.resolved_at > %(now)s
                                   or (c.resolved_by is not null and r.role not in ('admin', 'super_admin'))
                                   or (c.status = 'open' and b.ends_at <= %(now)s)),
               count(*)
          from public.booking_conflicts c
          join public.bookings b on b.id = c.booking_id
          left join public.bookings o on o.id = c.conflicting_booking_id
          left join public.users r on r.id = c.resolved_by""",
    "conflict of a type its bookings do not show": """
        select count(*) filter (where case c.conflict_type
                   when 'turnaround_buffer' then o.id is null or b.starts_at - o.ends_at not between interval '0'
                                                                                         and interval '23:59:59'
                   when 'double_booking' then o.id is null or b.starts_at < o.ends_at
                                              or b.starts_at - o.ends_at >= interval '1 day'
                   when 'maintenance' then e.status <> 'maintenance'
                                           or b.status not in ('pending', 'confirmed', 'active')
                   else (select count(*) from public.bookings x
                          where x.status in ('confirmed', 'active', 'completed')
                            and (x.starts_at at time zone 'UTC')::date = (b.starts_at at time zone 'UTC')::date)
                        <= %(capacity)s
                 end), count(*)
          from public.booking_conflicts c
          join public.bookings b on b.id = c.booking_id
          join public.equipment e on e.id = c.equipment_id
          left join public.bookings o on o.id = c.conflicting_booking_id""",
    "note before its booking was made, in the future or from a customer": """
        select count(*) filter (where n.created_at < b.created_at or n.created_at > %(now)s
                                   or n.updated_at < n.created_at or n.updated_at > %(now)s
                                   or u.role not in ('admin', 'super_admin')
                                   or (not n.is_internal and n.author_id is null)),
               count(*)
          from public.booking_notes n
          join public.bookings b on b.id = n.booking_id
          left join public.users u on u.id = n.author_id""",
    "delivery assignment without exactly one task of its kind, address, time and status": """
        select count(*) filter (where tasks <> 1 or mismatched), count(*)
          from (select d.id, count(t.id) as tasks,
                       bool_or(t.address is distinct from d.address
                               or d.scheduled_for not between t.window_start and t.window_end
                               or (t.status = 'completed') <> (d.status = 'completed')) as mismatched
                  from public.delivery_assignments d
                  left join public.logistics_tasks t on t.booking_id = d.booking_id and t.task_type = d.kind
                 group by d.id) x""",
    "logistics task whose machine, window, driver or completion disagrees with its status": """
        select count(*) filter (where t.equipment_id is distinct from coalesce(b.equipment_id, t.equipment_id)
                                   or t.scheduled_date <> (t.window_start at time zone 'UTC')::date
                                   or t.created_at > t.window_start or t.updated_at < t.created_at
                                   or (t.status = 'completed') <> (t.completed_at is not null)
                                   or t.completed_at not between t.window_start and least(t.window_end, %(now)s)
                                   or (t.status = 'pending') <> (t.assigned_to is null)
                                   or (t.status in ('pending', 'scheduled') and t.window_start <= %(now)s)
                                   or (t.status = 'in_progress'
                                       and not (t.window_start <= %(now)s and t.window_end > %(now)s))
                                   or (t.task_type in ('inspection', 'cleaning') and b.status <> 'completed')
                                   or (t.task_type = 'transfer') <> (t.booking_id is null)),
               count(*)
          from public.logistics_tasks t left join public.bookings b on b.id = t.booking_id""",
    "pickup task without its checklist, or a checklist disagreeing with its task": """
        select count(*) filter (where c.id is null or c.booking_id <> t.booking_id
                                   or (c.status = 'completed') <> (t.status = 'completed')
                                   or c.completed_by is distinct from case when c.status = 'completed'
                                                                           then t.assigned_to end
                                   or c.completed_at is distinct from t.completed_at
                                   or (c.damage_notes is not null)
                                      <> coalesce(c.equipment_condition <> 'good', false)
                                   or (c.status = 'completed' and (c.fuel_level_pct is null or c.engine_hours is null
                                       or cardinality(c.photo_paths) = 0
                                       or exists (select from jsonb_array_elements(c.items) i
                                                   where jsonb_typeof(i -> 'ok') <> 'boolean')))
                                   or (c.status = 'pending' and c.equipment_condition is not null)),
               count(*)
          from public.logistics_tasks t left join public.pickup_checklists c on c.task_id = t.id
         where t.task_type = 'pickup'""",
    "checklist of a task that is no pickup": """
        select count(*) filter (where t.task_type <> 'pickup'), count(*)
          from public.pickup_checklists c join public.logistics_tasks t on t.id = c.task_id""",
    "engine hours going down between a machine's pickups": """
        select count(*) filter (where hours < before), count(*)
          from (select c.engine_hours as hours,
                       lag(c.engine_hours) over (partition by t.equipment_id order by c.completed_at) as before
                  from public.pickup_checklists c join public.logistics_tasks t on t.id = c.task_id
                 where c.status = 'completed') x""",
    "bulk operation whose counts, errors, times or requester disagree with its status": """
        select count(*) filter (where u.role not in ('admin', 'super_admin')
                                   or exists (select from unnest(o.booking_ids) i(id)
                                               where not exists (select from public.bookings b where b.id = i.id))
                                   or jsonb_array_length(o.errors) <> o.failed_count
                                   or exists (select from jsonb_array_elements(o.errors) e
                                               where (e ->> 'booking_id')::uuid <> all (o.booking_ids))
                                   or case when o.status in ('completed', 'failed')
                                           then o.processed_count + o.failed_count <> cardinality(o.booking_ids)
                                                or not (o.created_at <= o.started_at and o.started_at <= o.completed_at
                                                        and o.completed_at <= %(now)s)
                                                or (o.status = 'failed') <> (o.processed_count = 0)
                                           else o.processed_count + o.failed_count <> 0 or o.started_at is not null
                                                or o.completed_at is not null or o.created_at > %(now)s
                                      end),
               count(*)
          from public.booking_bulk_operations o join public.users u on u.id = o.requested_by""",
    "completed bulk operation that did not leave its bookings as it says": """
        select count(*) filter (where case
                   when failed then x.operation_type = 'confirm' and b.status <> 'pending'
                   when x.operation_type = 'confirm' then b.status in ('pending', 'cancelled')
                   when x.operation_type = 'cancel' then b.status <> 'cancelled'
                   else not exists (select from public.booking_notes n
                                     where n.booking_id = b.id and n.body = x.parameters ->> 'body'
                                       and n.author_id = x.requested_by and n.created_at = x.completed_at)
                 end), count(*)
          from (select o.operation_type, o.parameters, o.requested_by, o.completed_at, i.id as booking_id,
                       exists (select from jsonb_array_elements(o.errors) e
                                where (e ->> 'booking_id')::uuid = i.id) as failed
                  from public.booking_bulk_operations o cross join unnest(o.booking_ids) i(id)
                 where o.status = 'completed' and o.operation_type in ('confirm', 'cancel', 'add_note')) x
          join public.bookings b on b.id = x.booking_id""",
}


@pytest.mark.parametrize("scale", [1, 5])
def test_seeds_every_table_and_keeps_the_business_rules(fresh_db, scale):
    with fresh_db.transaction(force_rollback=True):
        report = seed(fresh_db, SEEDERS, seed=scale, scale=scale)
        fresh_db.execute("set constraints all immediate")
        results = {
            name: fresh_db.execute(query, {"now": REFERENCE_TIME, "capacity": 2 * scale}).fetchone()
            for name, query in INVARIANTS.items()
        }
    filled = report.results[-1].tables
    assert report.results[-1].name == "bookings"
    assert set(filled) == set(TABLES) and all(filled[table] > 0 for table in TABLES), filled
    assert {name: considered for name, (_, considered) in results.items() if not considered} == {}
    assert {name: violations for name, (violations, _) in results.items() if violations} == {}
