-- Bookings and logistics (20251111000200_phase3_bookings): one or more rows in
-- each new table, referencing rows/00_baseline.sql only.
insert into public.booking_wizard_sessions (id, created_by, equipment_id, current_step, draft) values
  ('00000000-0000-4000-8000-00000002a001', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-00000000e002', 'dates', '{"starts_on": "2025-12-01"}'),
  ('00000000-0000-4000-8000-00000002a002', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e001', 'equipment', '{}');

insert into public.booking_conflicts (id, booking_id, equipment_id, conflict_type) values
  ('00000000-0000-4000-8000-00000002c001', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-00000000e001', 'maintenance');

insert into public.booking_notes (id, booking_id, author_id, body, is_internal) values
  -- Cora's booking: one note for her, one for staff only.
  ('00000000-0000-4000-8000-00000002d001', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-0000000a0001', 'Driver will call 30 minutes before arrival.', false),
  ('00000000-0000-4000-8000-00000002d002', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-0000000a0001', 'Customer was late paying last time.', true),
  -- Carl's booking: shared with Carl, not with Cora.
  ('00000000-0000-4000-8000-00000002d003', '00000000-0000-4000-8000-00000000b002',
   '00000000-0000-4000-8000-0000000a0001', 'Gate code 4711.', false);

insert into public.logistics_tasks (id, booking_id, equipment_id, task_type, status, scheduled_date, address) values
  ('00000000-0000-4000-8000-00000002e001', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-00000000e001', 'pickup', 'scheduled', '2025-10-04', '1 Quarry Road');

update public.delivery_assignments
   set task_id = '00000000-0000-4000-8000-00000002e001', eta = '2025-10-01 07:30+00',
       route_url = 'https://maps.example.test/route/de001'
 where id = '00000000-0000-4000-8000-0000000de001';

insert into public.pickup_checklists (id, task_id, booking_id, items) values
  ('00000000-0000-4000-8000-00000002f001', '00000000-0000-4000-8000-00000002e001',
   '00000000-0000-4000-8000-00000000b001', '[{"item": "bucket attached", "ok": true}]');

insert into public.booking_bulk_operations (id, operation_type, booking_ids, requested_by) values
  ('00000000-0000-4000-8000-000000020b01', 'confirm',
   array['00000000-0000-4000-8000-00000000b002']::uuid[], '00000000-0000-4000-8000-0000000a0001');
