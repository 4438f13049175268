-- Rollback of 20251125000000_phase3_access_fixes: the grants, policy and
-- guards as 20251111000200_phase3_bookings, 20251111000500_phase3_payments
-- and 20251111000800_phase3_audit_security left them (the gaps come back).

set local lock_timeout = '5s';

-- The service role gets back what it lost where it holds the ledger's other
-- grants (a project with the old default privileges). On one created under
-- today's defaults it never had them: 20261205000000_phase3_explicit_grants
-- gives it select and insert, and its rollback takes them again first.
do $$
begin
  if has_table_privilege('service_role', 'public.financial_ledger', 'select') then
    grant update, delete, truncate on public.financial_ledger to service_role;
  end if;
end $$;

drop policy if exists admin_invites_super_admin_delete_by_super_admin on public.admin_invites;

create or replace function private.guard_booking_charges()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  app_role text;
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  app_role := coalesce(private.current_app_role(), '');
  if app_role in ('admin', 'super_admin') then
    return new;
  end if;
  if tg_op = 'INSERT' then
    if new.pricing_breakdown is not null
       or new.deposit_amount <> 0
       or new.deposit_status <> 'not_required'
       or new.deposit_paid_at is not null
       or (new.balance_due is not null and app_role <> 'finance') then
      raise exception 'only staff can set a booking''s pricing breakdown, deposit or balance due'
        using errcode = '42501';
    end if;
  elsif new.total_amount is distinct from old.total_amount
        or new.pricing_breakdown is distinct from old.pricing_breakdown
        or new.deposit_amount is distinct from old.deposit_amount
        or new.deposit_status is distinct from old.deposit_status
        or new.deposit_paid_at is distinct from old.deposit_paid_at
        or (new.balance_due is distinct from old.balance_due and app_role <> 'finance') then
    raise exception 'only staff can change a booking''s price, pricing breakdown, deposit or balance due'
      using errcode = '42501';
  end if;
  return new;
end
$$;

create or replace function private.guard_booking_billing_status()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated')
     or coalesce(private.current_app_role(), '') in ('admin', 'super_admin', 'finance') then
    return new;
  end if;
  if tg_op = 'INSERT' then
    if new.billing_status <> 'unpaid' or new.billing_status_updated_at is not null then
      raise exception 'only staff can set a booking''s billing status'
        using errcode = '42501';
    end if;
  elsif new.billing_status is distinct from old.billing_status
        or new.billing_status_updated_at is distinct from old.billing_status_updated_at then
    raise exception 'only staff can change a booking''s billing status'
      using errcode = '42501';
  end if;
  return new;
end
$$;
