-- Phase 3: support conversations with SLAs, and insurance follow-up.
--
-- Support: threaded messages on tickets (staff may add internal notes the
-- customer never sees), who each message was sent to, reply templates, SLA
-- targets per priority, and SLA due dates on every ticket (set by a trigger on
-- new tickets, backfilled for the tickets that already exist). Insurance: the information an admin asks a
-- customer for, an activity trail per document, and scheduled reminders.
--
-- Who sees what: a customer reads and writes the non-internal messages of
-- their own tickets, and sees the information requested on their own insurance
-- documents (through the baseline's own-row policy). Every other new table is
-- for staff: admins only. Anon sees nothing. A customer opening a ticket
-- cannot set its status, assignment, 'urgent' priority or SLA fields.
--
-- Depends on: 20251101000000_baseline_platform (support_tickets,
-- insurance_documents, users, private.current_app_role()),
-- 20251111000000_phase3_policy_helpers.
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

create table if not exists public.support_sla (
  id                    uuid primary key default gen_random_uuid(),
  priority              text not null
                        constraint support_sla_priority_key unique
                        constraint support_sla_priority_check check (priority in ('low', 'normal', 'high', 'urgent')),
  first_response_within interval not null
                        constraint support_sla_first_response_within_check
                        check (first_response_within > interval '0'),
  resolution_within     interval not null,
  updated_at            timestamptz not null default now(),
  updated_by            uuid constraint support_sla_updated_by_fkey references public.users (id) on delete set null,
  constraint support_sla_resolution_within_check check (resolution_within >= first_response_within)
);

create table if not exists public.support_messages (
  id          uuid primary key default gen_random_uuid(),
  ticket_id   uuid not null
              constraint support_messages_ticket_id_fkey references public.support_tickets (id) on delete cascade,
  author_id   uuid not null constraint support_messages_author_id_fkey references public.users (id),
  body        text not null constraint support_messages_body_check check (btrim(body) <> ''),
  -- Staff-only notes: never visible to (nor writable by) the customer.
  is_internal boolean not null default false,
  created_at  timestamptz not null default now()
);

create table if not exists public.support_message_recipients (
  id           uuid primary key default gen_random_uuid(),
  message_id   uuid not null
               constraint support_message_recipients_message_id_fkey
               references public.support_messages (id) on delete cascade,
  recipient_id uuid not null
               constraint support_message_recipients_recipient_id_fkey
               references public.users (id) on delete cascade,
  channel      text not null default 'email'
               constraint support_message_recipients_channel_check check (channel in ('email', 'sms', 'in_app')),
  status       text not null default 'pending'
               constraint support_message_recipients_status_check
               check (status in ('pending', 'sent', 'delivered', 'failed', 'read')),
  sent_at      timestamptz,
  read_at      timestamptz,
  created_at   timestamptz not null default now(),
  constraint support_message_recipients_message_recipient_channel_key unique (message_id, recipient_id, channel)
);

create table if not exists public.support_templates (
  id         uuid primary key default gen_random_uuid(),
  name       text not null constraint support_templates_name_key unique,
  category   text,
  subject    text,
  body       text not null constraint support_templates_body_check check (btrim(body) <> ''),
  is_active  boolean not null default true,
  created_by uuid constraint support_templates_created_by_fkey references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.insurance_activity (
  id                    uuid primary key default gen_random_uuid(),
  insurance_document_id uuid not null
                        constraint insurance_activity_insurance_document_id_fkey
                        references public.insurance_documents (id) on delete cascade,
  actor_id              uuid constraint insurance_activity_actor_id_fkey references public.users (id) on delete set null,
  action                text not null
                        constraint insurance_activity_action_check
                        check (action in ('uploaded', 'info_requested', 'info_provided', 'approved', 'rejected',
                                          'expired', 'reminder_sent', 'note')),
  details               text,
  created_at            timestamptz not null default now()
);

create table if not exists public.insurance_reminders (
  id                    uuid primary key default gen_random_uuid(),
  insurance_document_id uuid not null
                        constraint insurance_reminders_insurance_document_id_fkey
                        references public.insurance_documents (id) on delete cascade,
  kind                  text not null
                        constraint insurance_reminders_kind_check check (kind in ('expiry', 'missing_info', 'renewal')),
  channel               text not null default 'email'
                        constraint insurance_reminders_channel_check check (channel in ('email', 'sms', 'in_app')),
  scheduled_for         timestamptz not null,
  status                text not null default 'scheduled'
                        constraint insurance_reminders_status_check
                        check (status in ('scheduled', 'sent', 'cancelled', 'failed')),
  sent_at               timestamptz,
  created_at            timestamptz not null default now(),
  -- The reminder job never schedules the same reminder twice.
  constraint insurance_reminders_document_kind_scheduled_key unique (insurance_document_id, kind, scheduled_for),
  constraint insurance_reminders_sent_at_check check (status <> 'sent' or sent_at is not null)
);

-- Support tickets: SLA due dates (from support_sla by priority) and whether they were missed.
alter table public.support_tickets add column if not exists first_response_due_at timestamptz;
alter table public.support_tickets add column if not exists resolution_due_at timestamptz;
alter table public.support_tickets add column if not exists first_responded_at timestamptz;
alter table public.support_tickets add column if not exists sla_breached boolean not null default false;

-- New tickets: customers open them, staff triage them. Two BEFORE INSERT
-- triggers, fired in name order: the guard first, then the SLA dates.
--
-- The guard runs as the caller (SECURITY INVOKER), so current_user is the API
-- role. An API caller who is not an admin (a customer, or finance and the
-- other non-support staff roles opening a ticket in their own name) cannot set
-- what staff decide: a new ticket starts 'open', unassigned, not breached, not
-- yet answered, with no due dates of its own and created now (due dates count
-- from created_at); 'urgent' is for staff to escalate to, a customer picks low,
-- normal or high. Such an insert is refused, naming the fields, not silently
-- changed. The service role and migrations are trusted. Customers have no
-- update policy on support_tickets (baseline), so they cannot change these
-- fields afterwards either.
create or replace function private.guard_support_ticket_staff_fields()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  staff_only text[];
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  -- anon has no usage on schema private: look the role up for signed-in callers only.
  if current_user = 'authenticated' then
    if coalesce(private.current_app_role(), '') in ('admin', 'super_admin') then
      return new;
    end if;
  end if;
  staff_only := array_remove(array[
    case when new.status is distinct from 'open' then 'status' end,
    case when new.priority = 'urgent' then 'priority (urgent)' end,
    case when new.assigned_to is not null then 'assigned_to' end,
    case when new.sla_breached is distinct from false then 'sla_breached' end,
    case when new.first_responded_at is not null then 'first_responded_at' end,
    case when new.first_response_due_at is not null then 'first_response_due_at' end,
    case when new.resolution_due_at is not null then 'resolution_due_at' end,
    case when new.created_at is distinct from now() then 'created_at' end
  ], null);
  if cardinality(staff_only) > 0 then
    raise exception 'only staff set % on a new support ticket', array_to_string(staff_only, ', ')
      using errcode = '42501',
            hint = 'open the ticket with subject, body, booking and a low, normal or high priority only';
  end if;
  return new;
end
$$;
revoke all on function private.guard_support_ticket_staff_fields() from public, anon, authenticated, service_role;

-- Due dates for every new ticket that comes without them, from support_sla
-- for its priority, counted from created_at. support_sla is for admins only,
-- so this reads it as its owner (SECURITY DEFINER). Nobody may execute it: a
-- trigger function runs for the trigger without an EXECUTE check, and cannot
-- be called any other way.
create or replace function private.set_support_ticket_sla_due_dates()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  first_response interval;
  resolution interval;
begin
  if new.first_response_due_at is null or new.resolution_due_at is null then
    select s.first_response_within, s.resolution_within
      into first_response, resolution
      from public.support_sla s
     where s.priority = new.priority;
    new.first_response_due_at := coalesce(new.first_response_due_at, new.created_at + first_response);
    new.resolution_due_at := coalesce(new.resolution_due_at, new.created_at + resolution);
  end if;
  return new;
end
$$;
revoke all on function private.set_support_ticket_sla_due_dates() from public, anon, authenticated, service_role;

create or replace trigger support_tickets_guard_staff_fields
  before insert on public.support_tickets
  for each row execute function private.guard_support_ticket_staff_fields();

create or replace trigger support_tickets_set_sla_due_dates
  before insert on public.support_tickets
  for each row execute function private.set_support_ticket_sla_due_dates();

-- Insurance documents: what an admin asked the customer for, and when it came.
alter table public.insurance_documents add column if not exists requested_info text;
alter table public.insurance_documents add column if not exists info_requested_at timestamptz;
alter table public.insurance_documents add column if not exists info_provided_at timestamptz;

-- Indexes ------------------------------------------------------------------

create index if not exists support_sla_updated_by_idx on public.support_sla (updated_by);

create index if not exists support_messages_ticket_created_at_idx on public.support_messages (ticket_id, created_at);
create index if not exists support_messages_author_id_idx on public.support_messages (author_id);

-- support_message_recipients (message_id, ...) is indexed by its unique constraint.
create index if not exists support_message_recipients_recipient_id_idx
  on public.support_message_recipients (recipient_id);

create index if not exists support_templates_created_by_idx on public.support_templates (created_by);

create index if not exists insurance_activity_document_created_at_idx
  on public.insurance_activity (insurance_document_id, created_at);
create index if not exists insurance_activity_actor_id_idx on public.insurance_activity (actor_id);

-- insurance_reminders (insurance_document_id, ...) is indexed by its unique constraint.
-- What the reminder job picks up next.
create index if not exists insurance_reminders_due_idx
  on public.insurance_reminders (scheduled_for) where status = 'scheduled';

-- RLS policies -------------------------------------------------------------

-- support_messages: admins see and write everything, internal notes included.
select private.policy_admin_read_write('public.support_messages');

-- Customers: the non-internal messages of their own tickets.
drop policy if exists support_messages_select_own_ticket on public.support_messages;
create policy support_messages_select_own_ticket on public.support_messages
  for select to authenticated
  using (
    not is_internal
    and exists (select 1 from public.support_tickets t
                where t.id = support_messages.ticket_id and t.customer_id = (select auth.uid()))
  );

-- Customers: post in their own name on their own tickets, never an internal note.
drop policy if exists support_messages_insert_own_ticket on public.support_messages;
create policy support_messages_insert_own_ticket on public.support_messages
  for insert to authenticated
  with check (
    author_id = (select auth.uid())
    and not is_internal
    and exists (select 1 from public.support_tickets t
                where t.id = support_messages.ticket_id and t.customer_id = (select auth.uid()))
  );

-- Staff tables: admins only.
select private.policy_admin_read_write('public.support_sla');
select private.policy_admin_read_write('public.support_message_recipients');
select private.policy_admin_read_write('public.support_templates');
select private.policy_admin_read_write('public.insurance_activity');
select private.policy_admin_read_write('public.insurance_reminders');

-- Data migrations ----------------------------------------------------------

-- SLA targets per priority; values an admin has changed since are kept.
insert into public.support_sla (priority, first_response_within, resolution_within) values
  ('urgent', interval '1 hour', interval '4 hours'),
  ('high', interval '4 hours', interval '24 hours'),
  ('normal', interval '24 hours', interval '72 hours'),
  ('low', interval '72 hours', interval '7 days')
on conflict (priority) do nothing;

-- Existing tickets get their due dates from their priority, counted from
-- created_at. Only the resolution target can be judged for them: tickets still
-- open or pending past it are marked breached. (Whether they were answered in
-- time is unknown: support_messages starts empty, first_responded_at stays NULL.)
-- Only tickets without due dates are touched, so a re-run changes nothing.
update public.support_tickets t
   set first_response_due_at = t.created_at + s.first_response_within,
       resolution_due_at     = t.created_at + s.resolution_within,
       sla_breached          = t.status in ('open', 'pending') and t.created_at + s.resolution_within < now()
  from public.support_sla s
 where s.priority = t.priority
   and t.first_response_due_at is null;
