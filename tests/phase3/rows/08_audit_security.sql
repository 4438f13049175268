-- Audit & security (20251111000800_phase3_audit_security): one row or two per table.
-- Loaded as postgres after 00_baseline.sql.
insert into public.audit_events (id, actor_id, actor_role, action, target_table, target_id, metadata) values
  ('00000000-0000-4000-8000-0000000ae001', '00000000-0000-4000-8000-0000000a0001', 'admin', 'booking.status_changed',
   'bookings', '00000000-0000-4000-8000-00000000b001', '{"from": "active", "to": "completed"}');

insert into public.audit_event_tags (id, event_id, tag, created_by) values
  ('00000000-0000-4000-8000-0000000ae701', '00000000-0000-4000-8000-0000000ae001', 'bookings',
   '00000000-0000-4000-8000-0000000a0001');

insert into public.security_incidents (id, title, severity, reported_by, audit_event_id) values
  ('00000000-0000-4000-8000-0000000a1c01', 'Repeated failed admin logins', 'high',
   '00000000-0000-4000-8000-0000000d0001', '00000000-0000-4000-8000-0000000ae001');

insert into public.admin_invites (id, email, role, token_hash, invited_by) values
  ('00000000-0000-4000-8000-0000000a1401', 'new.finance@example.test', 'finance', '\x0123456789abcdef',
   '00000000-0000-4000-8000-0000000a0001');

insert into public.admin_sessions (id, user_id, session_token_hash, two_factor_verified, expires_at) values
  ('00000000-0000-4000-8000-0000000a5e01', '00000000-0000-4000-8000-0000000a0001', '\xfedcba9876543210', true,
   now() + interval '8 hours');

insert into public.secret_store (id, key, ciphertext, nonce, key_version, created_by) values
  ('00000000-0000-4000-8000-0000000a5c01', 'payments.provider_api_key', '\xdeadbeefcafe', '\x000102030405060708090a0b',
   1, '00000000-0000-4000-8000-0000000a0002');

insert into public.settings_change_requests (id, setting_key, proposed_value, previous_value, reason, requested_by)
values
  ('00000000-0000-4000-8000-0000000a5d01', 'booking.max_days', '45', '30', 'Longer construction projects',
   '00000000-0000-4000-8000-0000000a0001');

-- A setting whose changes need an approved change request (applied by the service role).
insert into public.system_settings (key, value, description, requires_approval) values
  ('payments.refund_window_days', '14', 'Days after a payment in which a customer may ask for a refund', true);
