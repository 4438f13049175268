-- Phase 3: explicit grants, for Supabase as it is today.
--
-- Since 2026-10-30 Supabase no longer grants the tables `postgres` creates in
-- public to the API roles (new projects since 2026-05-30): each table the Data
-- API serves needs its own grant, and without it a signed-in user gets 42501
-- before any policy is read. The Phase 3 files relied on the old default
-- privileges, so deployed on a project created today the dashboard, bookings,
-- payments and support tables would refuse every request.
--
-- What each role gets, and why:
-- - authenticated: on each table, the operations its row-level security
--   policies (all `to authenticated`) allow some app role; the policies decide
--   which rows. Append-only tables stay so: audit_events and financial_ledger
--   get select and insert, admin_sessions and telematics_snapshots select.
-- - service_role: what it had under the old defaults (it bypasses RLS; the
--   access matrix declares what it may do), less what earlier files revoked:
--   the ledger and the audit log stay append-only for it too; alerts, saved
--   filters and exports keep the select-only grant 20251111000100 gave it.
-- - anon: nothing. No policy admits it; the matrix denies it everywhere.
-- TRUNCATE, REFERENCES and TRIGGER, which the old defaults gave too, go to
-- nobody. On a project that still has the old default privileges every
-- statement below grants what is already there and changes nothing.
--
-- Depends on: every earlier Phase 3 file (the tables and their policies).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

grant select, insert, update, delete on table
  public.admin_invites, public.alerts, public.audit_event_tags, public.booking_bulk_operations,
  public.booking_conflicts, public.booking_notes, public.booking_wizard_sessions, public.bookings,
  public.campaign_audiences, public.contract_events, public.contract_reminders, public.contract_signers,
  public.contract_template_versions, public.contract_templates, public.contracts, public.customer_consent,
  public.customer_notes, public.customer_tag_members, public.customer_tags, public.customer_timeline_events,
  public.dashboard_exports, public.dashboard_saved_filters, public.delivery_assignments, public.equipment,
  public.equipment_media, public.financial_exports, public.installment_schedules, public.insurance_activity,
  public.insurance_documents, public.insurance_reminders, public.logistics_tasks, public.maintenance_alerts,
  public.maintenance_logs, public.maintenance_parts, public.manual_payments, public.payments,
  public.payout_reconciliations, public.pickup_checklists, public.promo_analytics_daily,
  public.promo_redemptions, public.promo_rule_actions, public.promo_rule_conditions,
  public.promo_rule_segments, public.promo_rules, public.secret_store, public.security_incidents,
  public.settings_change_requests, public.support_message_recipients, public.support_messages,
  public.support_sla, public.support_templates, public.support_tickets, public.system_settings, public.users
  to authenticated;

grant select, insert on table
  public.audit_events, public.financial_ledger
  to authenticated;

grant select on table
  public.admin_sessions, public.telematics_snapshots
  to authenticated;

grant select, insert, update, delete on table
  public.admin_invites, public.admin_sessions, public.audit_event_tags, public.booking_bulk_operations,
  public.booking_conflicts, public.booking_notes, public.booking_wizard_sessions, public.bookings,
  public.campaign_audiences, public.contract_events, public.contract_reminders, public.contract_signers,
  public.contract_template_versions, public.contract_templates, public.contracts, public.customer_consent,
  public.customer_notes, public.customer_tag_members, public.customer_tags, public.customer_timeline_events,
  public.delivery_assignments, public.equipment, public.equipment_media, public.financial_exports,
  public.installment_schedules, public.insurance_activity, public.insurance_documents,
  public.insurance_reminders, public.logistics_tasks, public.maintenance_alerts, public.maintenance_logs,
  public.maintenance_parts, public.manual_payments, public.payments, public.payout_reconciliations,
  public.pickup_checklists, public.promo_analytics_daily, public.promo_redemptions,
  public.promo_rule_actions, public.promo_rule_conditions, public.promo_rule_segments, public.promo_rules,
  public.secret_store, public.security_incidents, public.settings_change_requests,
  public.support_message_recipients, public.support_messages, public.support_sla, public.support_templates,
  public.support_tickets, public.system_settings, public.telematics_snapshots, public.users
  to service_role;

grant select, insert on table
  public.audit_events, public.financial_ledger
  to service_role;
