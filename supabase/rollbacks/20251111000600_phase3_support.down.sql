-- Rollback of 20251111000600_phase3_support: drops the support and insurance
-- tables with their data (messages, SLA targets, templates, activity,
-- reminders) and the columns added to support_tickets and insurance_documents.

set local lock_timeout = '5s';

alter table public.insurance_documents
  drop column if exists requested_info,
  drop column if exists info_requested_at,
  drop column if exists info_provided_at;

alter table public.support_tickets
  drop column if exists first_response_due_at,
  drop column if exists resolution_due_at,
  drop column if exists first_responded_at,
  drop column if exists sla_breached;

drop table if exists
  public.insurance_reminders,
  public.insurance_activity,
  public.support_templates,
  public.support_message_recipients,
  public.support_messages,
  public.support_sla;
