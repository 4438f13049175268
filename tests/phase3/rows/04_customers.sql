-- Customers and communications (20251111000400_phase3_customers): a row or
-- two in every new table, with fixed ids. Loaded as postgres after 00_baseline.sql.
insert into public.customer_tags (id, name, description, color, created_by) values
  ('00000000-0000-4000-8000-0000000c7a01', 'Contractor', 'Builds for a living', '#1f77b4',
   '00000000-0000-4000-8000-0000000a0001');

insert into public.customer_tag_members (id, tag_id, customer_id, added_by) values
  ('00000000-0000-4000-8000-0000000c7b01', '00000000-0000-4000-8000-0000000c7a01',
   '00000000-0000-4000-8000-0000000c0001', '00000000-0000-4000-8000-0000000a0001');

insert into public.customer_notes (id, customer_id, author_id, body) values
  ('00000000-0000-4000-8000-0000000c7c01', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-0000000a0001', 'Prefers morning deliveries.');

insert into public.customer_timeline_events (id, customer_id, kind, summary, actor_id, occurred_at) values
  ('00000000-0000-4000-8000-0000000c7d01', '00000000-0000-4000-8000-0000000c0001', 'booking',
   'Booked the mini excavator', '00000000-0000-4000-8000-0000000c0001', '2025-09-29 10:00+00');

insert into public.customer_consent (id, customer_id, channel, purpose, status, source, granted_at) values
  ('00000000-0000-4000-8000-0000000c7e01', '00000000-0000-4000-8000-0000000c0001', 'email', 'marketing',
   'granted', 'signup form', '2025-09-01 09:00+00'),
  ('00000000-0000-4000-8000-0000000c7e02', '00000000-0000-4000-8000-0000000c0002', 'sms', 'marketing',
   'withdrawn', 'signup form', null);

insert into public.campaign_audiences (id, name, description, channel, customer_tag_id, criteria, created_by) values
  ('00000000-0000-4000-8000-0000000c7f01', 'Contractors, autumn', 'Contractors who opted in to email', 'email',
   '00000000-0000-4000-8000-0000000c7a01', '{"min_bookings": 1}', '00000000-0000-4000-8000-0000000e0001');
