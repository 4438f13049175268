-- Phase 3: access fixes found while declaring the access matrix
-- (fixtures/rls_matrix.yaml), where the policies did less than the
-- migrations' headers promised.
--
-- - financial_ledger is append-only for every API role: the service role
--   loses UPDATE, DELETE and TRUNCATE too (it kept them), so a posted leg is
--   corrected by a reversing entry, never rewritten.
-- - admin_invites: an admin deletes only invites below super admin, as they
--   already insert and update only those; a super admin deletes any.
-- - bookings: finance sets the balance due and the billing status on other
--   people's bookings only. On a booking of their own a finance user is a
--   customer like any other (they could mark it paid before).
--
-- Depends on: 20251111000200_phase3_bookings (private.guard_booking_charges),
-- 20251111000500_phase3_payments (financial_ledger,
-- private.guard_booking_billing_status), 20251111000800_phase3_audit_security
-- (admin_invites).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

revoke update, delete, truncate on public.financial_ledger from service_role;

drop policy if exists admin_invites_super_admin_delete_by_super_admin on public.admin_invites;
create policy admin_invites_super_admin_delete_by_super_admin on public.admin_invites
  as restrictive for delete to authenticated
  using (role <> 'super_admin' or (select private.current_app_role()) = 'super_admin');

-- As in 20251111000200_phase3_bookings, but finance's exemption for
-- balance_due ends at their own bookings.
create or replace function private.guard_booking_charges()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  app_role text;
  own_booking boolean;
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  app_role := coalesce(private.current_app_role(), '');
  own_booking := new.customer_id = (select auth.uid());
  if app_role in ('admin', 'super_admin') then
    return new;
  end if;
  if tg_op = 'INSERT' then
    if new.pricing_breakdown is not null
       or new.deposit_amount <> 0
       or new.deposit_status <> 'not_required'
       or new.deposit_paid_at is not null
       or (new.balance_due is not null and (app_role <> 'finance' or own_booking)) then
      raise exception 'only staff can set a booking''s pricing breakdown, deposit or balance due'
        using errcode = '42501';
    end if;
  elsif new.total_amount is distinct from old.total_amount
        or new.pricing_breakdown is distinct from old.pricing_breakdown
        or new.deposit_amount is distinct from old.deposit_amount
        or new.deposit_status is distinct from old.deposit_status
        or new.deposit_paid_at is distinct from old.deposit_paid_at
        or (new.balance_due is distinct from old.balance_due and (app_role <> 'finance' or own_booking)) then
    raise exception 'only staff can change a booking''s price, pricing breakdown, deposit or balance due'
      using errcode = '42501';
  end if;
  return new;
end
$$;

-- As in 20251111000500_phase3_payments, but finance's exemption ends at
-- their own bookings.
create or replace function private.guard_booking_billing_status()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated')
     or coalesce(private.current_app_role(), '') in ('admin', 'super_admin')
     or (private.current_app_role() = 'finance' and new.customer_id is distinct from (select auth.uid())) then
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
