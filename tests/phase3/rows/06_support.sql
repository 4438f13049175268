-- Support conversations and insurance follow-up (20251111000600_phase3_support).
-- Cora's ticket (ca001) has her message, a staff reply and an internal note;
-- her insurance document (d0c01) has an information request, an activity and
-- a reminder. support_sla holds the four priorities the migration seeds.
insert into public.support_messages (id, ticket_id, author_id, body, is_internal, created_at) values
  ('00000000-0000-4000-8000-000000060001', '00000000-0000-4000-8000-0000000ca001',
   '00000000-0000-4000-8000-0000000c0001', 'It is still dripping this morning.', false, '2025-10-02 08:00+00'),
  ('00000000-0000-4000-8000-000000060002', '00000000-0000-4000-8000-0000000ca001',
   '00000000-0000-4000-8000-0000000a0001', 'A technician is on the way.', false, '2025-10-02 09:00+00'),
  ('00000000-0000-4000-8000-000000060003', '00000000-0000-4000-8000-0000000ca001',
   '00000000-0000-4000-8000-0000000a0001', 'Seal was damaged on delivery: our fault.', true, '2025-10-02 09:05+00');

insert into public.support_message_recipients (id, message_id, recipient_id, channel, status, sent_at) values
  ('00000000-0000-4000-8000-000000061001', '00000000-0000-4000-8000-000000060002',
   '00000000-0000-4000-8000-0000000c0001', 'email', 'sent', '2025-10-02 09:00+00');

insert into public.support_templates (id, name, category, subject, body, created_by) values
  ('00000000-0000-4000-8000-000000062001', 'Technician dispatched', 'repairs', 'Help is on the way',
   'A technician will reach you within {{eta}}.', '00000000-0000-4000-8000-0000000a0001');

update public.insurance_documents
   set requested_info = 'Please upload the page listing the policy limits.', info_requested_at = '2025-10-01 12:00+00'
 where id = '00000000-0000-4000-8000-0000000d0c01';

insert into public.insurance_activity (id, insurance_document_id, actor_id, action, details, created_at) values
  ('00000000-0000-4000-8000-000000063001', '00000000-0000-4000-8000-0000000d0c01',
   '00000000-0000-4000-8000-0000000a0001', 'info_requested', 'Policy limits page missing', '2025-10-01 12:00+00');

insert into public.insurance_reminders (id, insurance_document_id, kind, scheduled_for) values
  ('00000000-0000-4000-8000-000000064001', '00000000-0000-4000-8000-0000000d0c01', 'missing_info',
   '2025-10-04 09:00+00');
