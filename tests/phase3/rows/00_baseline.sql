-- One or two rows in every baseline table, with fixed ids the tests can name.
-- Loaded as postgres (RLS does not apply) into the test's transaction.
insert into auth.users (id, email, aud, role) values
  ('00000000-0000-4000-8000-0000000c0001', 'cora.customer@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000c0002', 'carl.customer@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000a0001', 'ada.admin@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000a0002', 'sam.superadmin@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000f0001', 'fay.finance@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000e0001', 'mo.marketing@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000d0001', 'sid.security@example.test', 'authenticated', 'authenticated'),
  ('00000000-0000-4000-8000-0000000b0001', 'pricing.service@example.test', 'authenticated', 'authenticated');

insert into public.users (id, email, full_name, role) values
  ('00000000-0000-4000-8000-0000000c0001', 'cora.customer@example.test', 'Cora Customer', 'customer'),
  ('00000000-0000-4000-8000-0000000c0002', 'carl.customer@example.test', 'Carl Customer', 'customer'),
  ('00000000-0000-4000-8000-0000000a0001', 'ada.admin@example.test', 'Ada Admin', 'admin'),
  ('00000000-0000-4000-8000-0000000a0002', 'sam.superadmin@example.test', 'Sam Superadmin', 'super_admin'),
  ('00000000-0000-4000-8000-0000000f0001', 'fay.finance@example.test', 'Fay Finance', 'finance'),
  ('00000000-0000-4000-8000-0000000e0001', 'mo.marketing@example.test', 'Mo Marketing', 'marketing'),
  ('00000000-0000-4000-8000-0000000d0001', 'sid.security@example.test', 'Sid Security', 'security'),
  ('00000000-0000-4000-8000-0000000b0001', 'pricing.service@example.test', 'Pricing Service', 'pricing_service');

insert into public.equipment (id, name, category, serial_number, daily_rate) values
  ('00000000-0000-4000-8000-00000000e001', 'Mini excavator 1.8t', 'excavators', 'EX-18-0001', 180.00),
  ('00000000-0000-4000-8000-00000000e002', 'Scissor lift 8m', 'lifts', 'SL-08-0002', 95.00);

insert into public.bookings (id, customer_id, equipment_id, starts_at, ends_at, status, total_amount) values
  ('00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-00000000e001', '2025-10-01 08:00+00', '2025-10-04 08:00+00', 'completed', 540.00),
  ('00000000-0000-4000-8000-00000000b002', '00000000-0000-4000-8000-0000000c0002',
   '00000000-0000-4000-8000-00000000e002', '2025-10-02 08:00+00', '2025-10-03 08:00+00', 'confirmed', 95.00);

insert into public.payments (id, booking_id, customer_id, amount, method, status, paid_at) values
  ('00000000-0000-4000-8000-0000000fa001', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-0000000c0001', 540.00, 'card', 'succeeded', '2025-09-30 12:00+00'),
  ('00000000-0000-4000-8000-0000000fa002', '00000000-0000-4000-8000-00000000b002',
   '00000000-0000-4000-8000-0000000c0002', 95.00, 'bank_transfer', 'pending', null);

insert into public.delivery_assignments (id, booking_id, kind, scheduled_for, address) values
  ('00000000-0000-4000-8000-0000000de001', '00000000-0000-4000-8000-00000000b001', 'delivery',
   '2025-10-01 07:00+00', '1 Quarry Road');

insert into public.support_tickets (id, customer_id, booking_id, subject, body) values
  ('00000000-0000-4000-8000-0000000ca001', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-00000000b001', 'Hydraulic leak', 'The excavator drips oil.');

insert into public.insurance_documents (id, customer_id, booking_id, document_type, storage_path) values
  ('00000000-0000-4000-8000-0000000d0c01', '00000000-0000-4000-8000-0000000c0001',
   '00000000-0000-4000-8000-00000000b001', 'liability', 'insurance/cora/liability.pdf');

insert into public.contract_templates (id, name, body) values
  ('00000000-0000-4000-8000-0000000c7001', 'Standard rental', 'The renter agrees ...');

insert into public.contracts (id, booking_id, customer_id, template_id, status) values
  ('00000000-0000-4000-8000-0000000c0c01', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-0000000c0001', '00000000-0000-4000-8000-0000000c7001', 'signed');

insert into public.system_settings (key, value, description) values
  ('booking.max_days', '30', 'Longest booking a customer can make online');
