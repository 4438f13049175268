-- Phase 3: values that stay true after their backfill.
--
-- - users.lifetime_value was computed once (20251111000400_phase3_customers:
--   the sum of the user's succeeded payments in lifetime_value_currency) and
--   then drifted. Now every write to payments that can change the sum
--   recomputes it for the customers involved (the old and the new one), and a
--   change of lifetime_value_currency recomputes it in the new currency.
--   Triggers, not a scheduled job: a payment changes rarely, the sum is one
--   index lookup (payments_customer_id_idx), and a value that is right only
--   after the next run would still be wrong on the customer's page.
--   It is recomputed, never incremented, so any path that missed it once is
--   mended by the customer's next payment. Nobody sets it by hand through the
--   API any more (the service role included): a hand-set value is drift.
-- - support_tickets: the SLA due dates were set once, on insert, from the
--   ticket's priority. Now a priority change (staff's, through the API, or
--   the service role's) recomputes both due dates from created_at and the SLA
--   of the new priority, and an open or pending ticket's breach is judged
--   again against the new resolution date (so is a reopened ticket's).
--   Editing support_sla itself changes the due dates of new and
--   re-prioritised tickets only: what was promised when a ticket was opened
--   stands. Time passing is not a write, so breaches that happen by the clock
--   are marked by private.mark_sla_breaches(), which the runbook schedules
--   every 5 minutes (docs/runbook.md).
--
-- Depends on: 20251101000000_baseline_platform (users, payments,
-- support_tickets), 20251111000400_phase3_customers (lifetime_value),
-- 20251111000600_phase3_support (support_sla, the due-date columns).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

-- Lifetime value ---------------------------------------------------------------

-- The definition, in one place: the backfill's.
create or replace function private.lifetime_value_of(customer uuid, currency text)
returns numeric
language sql
stable
set search_path = ''
as $$
  select coalesce(sum(p.amount), 0)
    from public.payments p
   where p.customer_id = customer and p.status = 'succeeded' and p.currency = lifetime_value_of.currency
$$;
revoke all on function private.lifetime_value_of(uuid, text) from public, anon, authenticated, service_role;

-- Runs as its owner, so it reads every payment (not the ones the caller's
-- policies show) and its update of users passes the guards that hold API
-- callers back.
create or replace function private.recompute_lifetime_values_of_payment()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.users u
     set lifetime_value = private.lifetime_value_of(u.id, u.lifetime_value_currency)
   where u.id in (old.customer_id, new.customer_id)
     and u.lifetime_value is distinct from private.lifetime_value_of(u.id, u.lifetime_value_currency);
  return null;
end
$$;
revoke all on function private.recompute_lifetime_values_of_payment() from public, anon, authenticated, service_role;

create or replace trigger payments_recompute_lifetime_values
  after insert or delete or update of customer_id, amount, currency, status on public.payments
  for each row execute function private.recompute_lifetime_values_of_payment();

-- A new user, or a user whose value changes currency: the value in it, from
-- every payment (SECURITY DEFINER for the same reason as above).
create or replace function private.recompute_user_lifetime_value()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' or new.lifetime_value_currency is distinct from old.lifetime_value_currency then
    new.lifetime_value := private.lifetime_value_of(new.id, new.lifetime_value_currency);
  end if;
  return new;
end
$$;
revoke all on function private.recompute_user_lifetime_value() from public, anon, authenticated, service_role;

create or replace trigger users_recompute_lifetime_value
  before insert or update of lifetime_value_currency on public.users
  for each row execute function private.recompute_user_lifetime_value();

-- Runs as the caller (current_user is the API role): the recomputations above
-- run as the owner and pass.
create or replace function private.guard_user_lifetime_value()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated', 'service_role')
     and new.lifetime_value is distinct from old.lifetime_value
     and new.lifetime_value_currency is not distinct from old.lifetime_value_currency then
    raise exception 'lifetime_value is computed from the user''s succeeded payments: it is not set by hand'
      using errcode = '42501',
            hint = 'record, correct or refund the payment instead';
  end if;
  return new;
end
$$;
revoke all on function private.guard_user_lifetime_value() from public, anon, authenticated, service_role;

create or replace trigger users_guard_lifetime_value
  before update of lifetime_value on public.users
  for each row execute function private.guard_user_lifetime_value();

-- SLA due dates -----------------------------------------------------------------

-- support_sla is for admins only, so this reads it as its owner.
create or replace function private.follow_support_ticket_priority()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  first_response interval;
  resolution interval;
begin
  if new.priority is distinct from old.priority then
    select s.first_response_within, s.resolution_within
      into first_response, resolution
      from public.support_sla s
     where s.priority = new.priority;
    if found then  -- without an SLA for the priority the dates stay as they were
      new.first_response_due_at := new.created_at + first_response;
      new.resolution_due_at := new.created_at + resolution;
    end if;
  elsif new.status is not distinct from old.status or old.status in ('open', 'pending') then
    return new;
  end if;
  -- Re-prioritised or reopened: judged against its resolution date now.
  if new.status in ('open', 'pending') then
    new.sla_breached := new.resolution_due_at < now();
  end if;
  return new;
end
$$;
revoke all on function private.follow_support_ticket_priority() from public, anon, authenticated, service_role;

create or replace trigger support_tickets_follow_priority
  before update of priority, status on public.support_tickets
  for each row execute function private.follow_support_ticket_priority();

-- The clock's breaches: open and pending tickets past their resolution date.
-- Returns how many it marked. For the scheduler (the service role), nobody else.
-- It finds the open tickets with a scan of support_tickets every 5 minutes.
-- No index for it here: built in this file's transaction it would hold the
-- writers of support_tickets for the whole build. If the scan ever shows, a
-- partial index on resolution_due_at (status open or pending, not breached)
-- goes in a file of its own, built CONCURRENTLY.
create or replace function private.mark_sla_breaches()
returns bigint
language sql
security definer
set search_path = ''
as $$
  with marked as (
    update public.support_tickets t
       set sla_breached = true
     where t.status in ('open', 'pending') and not t.sla_breached and t.resolution_due_at < now()
    returning 1
  )
  select count(*) from marked
$$;
revoke all on function private.mark_sla_breaches() from public, anon, authenticated;
grant execute on function private.mark_sla_breaches() to service_role;
