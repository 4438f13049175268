-- Phase 3: the access matrix's last three open questions, decided.
--
-- - bookings: finance keeps customers' accounts (the bookings header: the
--   balance is set by admins "finance: the balance too"; the payments header:
--   billing_status is set by admins, finance and the service role). Finance
--   therefore reads every booking and may update any booking, but on a booking
--   that is not its own only the balance due and the billing status (and the
--   stamps that follow them) may change: dates, equipment, status, price and
--   customer stay staff's and the customer's. On its own bookings a finance
--   user stays a customer (the earlier guards keep refusing it the balance
--   and the billing status there).
-- - system_settings: switching approval on or off is a super admin's
--   (guard_system_settings_approval); creating a setting that already requires
--   approval is the same act, so an admin's insert with requires_approval is
--   refused too. A super admin and the service role (migrations) create them.
-- - dashboard_saved_filters, dashboard_exports: a saved filter and an export
--   request are their owner's working state, like a booking wizard session:
--   every admin (super admins included) sees, creates, changes and deletes
--   only their own, and cannot file one in another admin's name or move one
--   there. The service role keeps reading them all.
--
-- Depends on: 20251101000000_baseline_platform (bookings),
-- 20251111000100_phase3_dashboard (the dashboard tables),
-- 20251111000500_phase3_payments (billing_status),
-- 20251111000800_phase3_audit_security (system_settings.requires_approval),
-- 20251111000000_phase3_policy_helpers (private.current_app_role).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

-- Bookings: finance on customers' accounts -----------------------------------

drop policy if exists bookings_select_finance on public.bookings;
create policy bookings_select_finance on public.bookings
  for select to authenticated
  using ((select private.current_app_role()) = 'finance');

drop policy if exists bookings_update_finance on public.bookings;
create policy bookings_update_finance on public.bookings
  for update to authenticated
  using ((select private.current_app_role()) = 'finance')
  with check ((select private.current_app_role()) = 'finance');

-- Runs as the caller, so current_user is the API role.
create or replace function private.guard_booking_finance_changes()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  account_columns constant text[] := array['balance_due', 'billing_status', 'billing_status_updated_at',
                                           'updated_at'];
begin
  if current_user <> 'authenticated' or old.customer_id = (select auth.uid())
     or coalesce(private.current_app_role(), '') <> 'finance' then
    return new;
  end if;
  if (to_jsonb(new) - account_columns) is distinct from (to_jsonb(old) - account_columns) then
    raise exception 'finance changes only the balance due and the billing status of a customer''s booking'
      using errcode = '42501',
            hint = 'ask an admin to change anything else on booking ' || old.id;
  end if;
  return new;
end
$$;
revoke all on function private.guard_booking_finance_changes() from public, anon, authenticated, service_role;

create or replace trigger bookings_guard_finance_changes
  before update on public.bookings
  for each row execute function private.guard_booking_finance_changes();

-- System settings: a setting that requires approval is born so by a super admin ----

create or replace function private.guard_system_settings_new_approval()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated') and new.requires_approval
     and coalesce(private.current_app_role(), '') <> 'super_admin' then
    raise exception 'only a super admin can create setting %, which requires approval', new.key
      using errcode = '42501',
            hint = 'create it without requires_approval, or ask a super admin';
  end if;
  return new;
end
$$;
revoke all on function private.guard_system_settings_new_approval() from public, anon, authenticated, service_role;

create or replace trigger system_settings_guard_new_approval
  before insert on public.system_settings
  for each row execute function private.guard_system_settings_new_approval();

-- Dashboard filters and exports: their owner's ---------------------------------

do $owned$
declare
  owned record;
  operation text;
  policy_name text;
  condition text;
begin
  for owned in select * from (values ('dashboard_saved_filters', 'admin_id'),
                                     ('dashboard_exports', 'requested_by')) t (name, owner)
  loop
    condition := format('(select private.current_app_role()) = any (array[''admin'', ''super_admin''])'
                        ' and %I = (select auth.uid())', owned.owner);
    foreach operation in array array['select', 'insert', 'update', 'delete'] loop
      execute format('drop policy if exists %I on public.%I', 'admin_super_admin_' || operation, owned.name);
      policy_name := owned.name || '_' || operation || '_own';
      execute format('drop policy if exists %I on public.%I', policy_name, owned.name);
      execute format('create policy %I on public.%I for %s to authenticated %s',
                     policy_name, owned.name, operation,
                     case operation
                       when 'insert' then format('with check (%s)', condition)
                       when 'update' then format('using (%s) with check (%s)', condition, condition)
                       else format('using (%s)', condition)
                     end);
    end loop;
  end loop;
end
$owned$;
