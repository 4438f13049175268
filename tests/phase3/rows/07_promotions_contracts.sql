-- Promotions and contracts (20251111000700_phase3_promotions_contracts): a
-- row or two in every new table, with fixed ids. Loaded as postgres after
-- 00_baseline.sql and after the migrations (so the baseline template has no
-- version here: the backfill test covers that); a second template brings its own.
insert into public.promo_rules (id, code, name, status, starts_at, ends_at, max_redemptions, created_by) values
  ('00000000-0000-4000-8000-00000009a001', 'AUTUMN10', 'Autumn 10% off', 'active',
   '2025-09-01 00:00+00', '2025-12-01 00:00+00', 100, '00000000-0000-4000-8000-0000000e0001');

insert into public.promo_rule_conditions (id, rule_id, kind, operator, value) values
  ('00000000-0000-4000-8000-00000009a101', '00000000-0000-4000-8000-00000009a001', 'min_rental_days', 'gte', '3');

insert into public.promo_rule_actions (id, rule_id, kind, percent_off) values
  ('00000000-0000-4000-8000-00000009a201', '00000000-0000-4000-8000-00000009a001', 'percent_off', 10.00);

insert into public.promo_rule_segments (id, rule_id, segment) values
  ('00000000-0000-4000-8000-00000009a301', '00000000-0000-4000-8000-00000009a001', 'returning_customers');

insert into public.promo_redemptions (id, rule_id, customer_id, booking_id, discount_amount) values
  ('00000000-0000-4000-8000-00000009a401', '00000000-0000-4000-8000-00000009a001',
   '00000000-0000-4000-8000-0000000c0001', '00000000-0000-4000-8000-00000000b001', 54.00),
  ('00000000-0000-4000-8000-00000009a402', '00000000-0000-4000-8000-00000009a001',
   '00000000-0000-4000-8000-0000000c0002', '00000000-0000-4000-8000-00000000b002', 9.50);

insert into public.promo_analytics_daily (id, rule_id, day, impressions, redemptions, discount_total, booking_revenue)
values
  ('00000000-0000-4000-8000-00000009a501', '00000000-0000-4000-8000-00000009a001', '2025-09-30', 120, 1, 54.00, 486.00);

insert into public.contract_templates (id, name, body, category) values
  ('00000000-0000-4000-8000-0000000c7002', 'Damage waiver', 'The renter may waive ...', 'damage_waiver');

insert into public.contract_template_versions (id, template_id, version, body, published_at) values
  ('00000000-0000-4000-8000-0000000c7102', '00000000-0000-4000-8000-0000000c7002', 1, 'The renter may waive ...',
   '2025-09-15 00:00+00');

update public.contract_templates set current_version = 1 where id = '00000000-0000-4000-8000-0000000c7002';

insert into public.contract_signers (id, contract_id, user_id, full_name, email, status, signed_at) values
  ('00000000-0000-4000-8000-0000000c7201', '00000000-0000-4000-8000-0000000c0c01',
   '00000000-0000-4000-8000-0000000c0001', 'Cora Customer', 'cora.customer@example.test', 'signed',
   '2025-09-30 11:00+00');

insert into public.contract_reminders (id, contract_id, signer_id, channel, status, scheduled_for, sent_at) values
  ('00000000-0000-4000-8000-0000000c7301', '00000000-0000-4000-8000-0000000c0c01',
   '00000000-0000-4000-8000-0000000c7201', 'email', 'sent', '2025-09-29 09:00+00', '2025-09-29 09:00+00');

insert into public.contract_events (id, contract_id, signer_id, event_type, actor_id, occurred_at) values
  ('00000000-0000-4000-8000-0000000c7401', '00000000-0000-4000-8000-0000000c0c01',
   '00000000-0000-4000-8000-0000000c7201', 'signed', '00000000-0000-4000-8000-0000000c0001', '2025-09-30 11:00+00');
