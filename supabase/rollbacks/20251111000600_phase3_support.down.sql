-- Rollback of 20251111000600_phase3_support: drops the support and insurance
-- tables with their data (messages, SLA targets, templates, activity,
-- reminders), the triggers on new support tickets with their functions, and
-- the columns added to support_tickets and insurance_documents.

set local lock_timeout = '5s';

alter table public.insurance_documents
  drop column if exists requested_info,
  drop column if exists info_requested_at,
  drop column if exists info_provided_at;

drop trigger if exists support_tickets_set_sla_due_dates on public.support_tickets;
drop trigger if exists support_tickets_guard_staff_fields on public.support_tickets;
drop function if exists private.set_support_ticket_sla_due_dates();
drop function if exists private.guard_support_ticket_staff_fields();

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
