-- Dashboard & analytics (20251111000100_phase3_dashboard): one row per table.
-- Loaded as postgres after 00_baseline.sql.
insert into public.alerts (id, kind, severity, title, booking_id) values
  ('00000000-0000-4000-8000-0000000a1e01', 'payment_overdue', 'warning',
   'Booking b002 started without a succeeded payment', '00000000-0000-4000-8000-00000000b002');

insert into public.dashboard_saved_filters (id, admin_id, name, view_name, filters) values
  ('00000000-0000-4000-8000-0000000df001', '00000000-0000-4000-8000-0000000a0001', 'Excavators, last 30 days',
   'equipment_utilization', '{"category": "excavators", "days": 30}');

insert into public.dashboard_exports (id, requested_by, view_name, format, status) values
  ('00000000-0000-4000-8000-0000000de701', '00000000-0000-4000-8000-0000000a0001', 'revenue_trends', 'csv',
   'pending');
