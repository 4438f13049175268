-- Phase 3: payments and finance.
--
-- Payments taken outside the payment provider (cash at the desk, a bank
-- statement line, a cheque) are recorded in manual_payments; bookings can be
-- paid in instalments (installment_schedules); provider payouts are checked
-- against the payments they contain (payout_reconciliations, matched through
-- payments.payout_id from the bookings migration); finance requests exports
-- (financial_exports) and keeps a double-entry ledger (financial_ledger).
-- Bookings gain a billing status derived from their payments; payments gain
-- manual_source, the channel of a manually recorded payment.
--
-- Who sees what:
-- - manual_payments: finance and admin users see and edit only the ones they
--   recorded themselves (no deletes: they void instead); super_admin all.
-- - installment_schedules: customers read their own; finance reads and
--   writes; admins all.
-- - payout_reconciliations, financial_exports: finance and admins; exports
--   are requested in the requester's own name.
-- - financial_ledger: append-only. Finance reads and posts entries (as
--   themselves); admin and super_admin read only. Every transaction_id must
--   balance (debits = credits per currency) when the transaction commits.
-- - bookings.billing_status (and its timestamp): set by admins, finance, the
--   service role and migrations, never by the customer (guard trigger).
-- Anon sees nothing.
--
-- Depends on: 20251101000000_baseline_platform (users, bookings, payments,
-- private.current_app_role()), 20251111000000_phase3_policy_helpers,
-- 20251111000200_phase3_bookings (payments.payout_id).
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

create table if not exists public.manual_payments (
  id          uuid primary key default gen_random_uuid(),
  booking_id  uuid not null constraint manual_payments_booking_id_fkey references public.bookings (id),
  customer_id uuid not null constraint manual_payments_customer_id_fkey references public.users (id),
  -- The payments row this manual payment was entered as, once applied.
  payment_id  uuid
              constraint manual_payments_payment_id_fkey references public.payments (id)
              constraint manual_payments_payment_id_key unique,
  amount      numeric(12, 2) not null constraint manual_payments_amount_check check (amount > 0),
  currency    text not null default 'USD' constraint manual_payments_currency_check check (currency ~ '^[A-Z]{3}$'),
  method      text not null
              constraint manual_payments_method_check
              check (method in ('cash', 'bank_transfer', 'cheque', 'card_terminal', 'other')),
  -- Receipt number, bank statement reference, cheque number ...
  reference   text,
  received_at timestamptz not null default now(),
  status      text not null default 'recorded'
              constraint manual_payments_status_check check (status in ('recorded', 'applied', 'voided')),
  void_reason text,
  notes       text,
  created_by  uuid not null default auth.uid()
              constraint manual_payments_created_by_fkey references public.users (id),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint manual_payments_applied_check check ((status = 'applied') = (payment_id is not null)),
  constraint manual_payments_void_reason_check check (status <> 'voided' or void_reason is not null)
);

create table if not exists public.installment_schedules (
  id                 uuid primary key default gen_random_uuid(),
  booking_id         uuid not null
                     constraint installment_schedules_booking_id_fkey
                     references public.bookings (id) on delete cascade,
  customer_id        uuid not null constraint installment_schedules_customer_id_fkey references public.users (id),
  installment_number bigint not null
                     constraint installment_schedules_installment_number_check check (installment_number > 0),
  due_date           date not null,
  amount             numeric(12, 2) not null constraint installment_schedules_amount_check check (amount > 0),
  currency           text not null default 'USD'
                     constraint installment_schedules_currency_check check (currency ~ '^[A-Z]{3}$'),
  status             text not null default 'scheduled'
                     constraint installment_schedules_status_check
                     check (status in ('scheduled', 'paid', 'overdue', 'cancelled')),
  payment_id         uuid
                     constraint installment_schedules_payment_id_fkey
                     references public.payments (id) on delete set null,
  paid_at            timestamptz,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  constraint installment_schedules_booking_number_key unique (booking_id, installment_number),
  constraint installment_schedules_paid_at_check check ((status = 'paid') = (paid_at is not null))
);

create table if not exists public.payout_reconciliations (
  id              uuid primary key default gen_random_uuid(),
  provider        text not null default 'stripe'
                  constraint payout_reconciliations_provider_check check (provider in ('stripe', 'paypal', 'bank')),
  -- The provider's payout id, as in payments.payout_id.
  payout_id       text not null,
  payout_date     date not null,
  -- Sum of our payments in the payout, and what arrived on the bank account.
  expected_amount numeric(12, 2) not null
                  constraint payout_reconciliations_expected_amount_check check (expected_amount >= 0),
  received_amount numeric(12, 2) not null
                  constraint payout_reconciliations_received_amount_check check (received_amount >= 0),
  difference      numeric(12, 2) generated always as (received_amount - expected_amount) stored,
  currency        text not null default 'USD'
                  constraint payout_reconciliations_currency_check check (currency ~ '^[A-Z]{3}$'),
  payment_count   bigint not null default 0
                  constraint payout_reconciliations_payment_count_check check (payment_count >= 0),
  status          text not null default 'pending'
                  constraint payout_reconciliations_status_check
                  check (status in ('pending', 'matched', 'discrepancy', 'resolved')),
  reconciled_by   uuid
                  constraint payout_reconciliations_reconciled_by_fkey
                  references public.users (id) on delete set null,
  reconciled_at   timestamptz,
  notes           text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint payout_reconciliations_payout_key unique (provider, payout_id),
  constraint payout_reconciliations_reconciled_at_check
    check (status not in ('matched', 'resolved') or reconciled_at is not null)
);

create table if not exists public.financial_exports (
  id            uuid primary key default gen_random_uuid(),
  export_type   text not null
                constraint financial_exports_export_type_check
                check (export_type in ('payments', 'ledger', 'payouts', 'installments', 'manual_payments')),
  format        text not null default 'csv'
                constraint financial_exports_format_check check (format in ('csv', 'xlsx', 'json')),
  period_start  date not null,
  period_end    date not null,
  status        text not null default 'pending'
                constraint financial_exports_status_check
                check (status in ('pending', 'processing', 'completed', 'failed')),
  storage_path  text,
  row_count     bigint constraint financial_exports_row_count_check check (row_count >= 0),
  error_message text,
  requested_by  uuid not null default auth.uid()
                constraint financial_exports_requested_by_fkey references public.users (id),
  completed_at  timestamptz,
  created_at    timestamptz not null default now(),
  constraint financial_exports_period_check check (period_end >= period_start),
  constraint financial_exports_completed_check
    check (status <> 'completed' or (storage_path is not null and completed_at is not null))
);

-- Double entry: each row is one leg (a debit or a credit of a positive
-- amount) of a transaction; the legs sharing a transaction_id balance.
create table if not exists public.financial_ledger (
  id             uuid primary key default gen_random_uuid(),
  transaction_id uuid not null,
  booking_id     uuid constraint financial_ledger_booking_id_fkey references public.bookings (id),
  payment_id     uuid constraint financial_ledger_payment_id_fkey references public.payments (id),
  -- Chart-of-accounts code, e.g. 'cash', 'accounts_receivable', 'revenue.rental'.
  account        text not null
                 constraint financial_ledger_account_check check (account ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'),
  entry_type     text not null constraint financial_ledger_entry_type_check check (entry_type in ('debit', 'credit')),
  amount         numeric(12, 2) not null constraint financial_ledger_amount_check check (amount > 0),
  currency       text not null default 'USD'
                 constraint financial_ledger_currency_check check (currency ~ '^[A-Z]{3}$'),
  description    text,
  effective_date date not null default current_date,
  created_by     uuid not null default auth.uid()
                 constraint financial_ledger_created_by_fkey references public.users (id),
  created_at     timestamptz not null default now()
);

-- Bookings: billing status derived from payments, and when it last changed.
alter table public.bookings
  add column if not exists billing_status text not null default 'unpaid'
  constraint bookings_billing_status_check
  check (billing_status in ('unpaid', 'partially_paid', 'paid', 'refunded'));
alter table public.bookings add column if not exists billing_status_updated_at timestamptz;

-- Payments: the channel of a manually recorded payment; NULL for payments
-- that came through the payment provider.
alter table public.payments
  add column if not exists manual_source text
  constraint payments_manual_source_check
  check (manual_source in ('cash_desk', 'bank_statement', 'cheque', 'card_terminal', 'phone', 'other'));

-- A ledger transaction balances when it commits: per currency, its debits
-- equal its credits. Runs as the caller (finance reads the whole ledger; the
-- service role and migrations bypass RLS).
create or replace function private.financial_ledger_check_balanced()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  tx uuid;
begin
  foreach tx in array array[case when tg_op <> 'INSERT' then old.transaction_id end,
                            case when tg_op <> 'DELETE' then new.transaction_id end] loop
    if tx is not null and exists (
         select from public.financial_ledger l
          where l.transaction_id = tx
          group by l.currency
         having sum(case l.entry_type when 'debit' then l.amount else -l.amount end) <> 0) then
      raise exception 'ledger transaction % does not balance: its debits and credits differ', tx
        using errcode = '23514';
    end if;
  end loop;
  return null;
end
$$;
revoke all on function private.financial_ledger_check_balanced() from public;

-- Deferred to commit, so the legs of a transaction can be inserted one by one.
-- (CREATE OR REPLACE is not available for constraint triggers.)
do $trigger$
begin
  if not exists (select from pg_catalog.pg_trigger
                 where tgrelid = 'public.financial_ledger'::regclass and tgname = 'financial_ledger_balanced') then
    create constraint trigger financial_ledger_balanced
      after insert or update or delete on public.financial_ledger
      deferrable initially deferred
      for each row execute function private.financial_ledger_check_balanced();
  end if;
end
$trigger$;

-- A booking's billing status and its timestamp are staff's to set: a
-- customer's new booking starts 'unpaid' and unstamped (the stamp below sets
-- it), and their edits leave both as they are. Admins (admin, super_admin) and
-- finance set them; the service role and migrations (current_user not an API
-- role) are trusted. Runs as the caller, so current_user is the API role.
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
revoke all on function private.guard_booking_billing_status() from public;

-- Fires before the stamp below (BEFORE triggers run in name order), so it
-- sees the caller's own values.
create or replace trigger bookings_guard_billing_status
  before insert or update on public.bookings
  for each row execute function private.guard_booking_billing_status();

-- billing_status_updated_at follows billing_status: set on insert (a trusted
-- writer such as an import may bring the historical time; the guard above
-- refuses one from customers) and whenever the status changes, whichever
-- statement or earlier trigger changed it (so the trigger has no column
-- list). Runs as the caller.
create or replace function private.stamp_billing_status_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.billing_status_updated_at := coalesce(new.billing_status_updated_at, now());
  elsif new.billing_status is distinct from old.billing_status then
    new.billing_status_updated_at := now();
  end if;
  return new;
end
$$;
revoke all on function private.stamp_billing_status_updated_at() from public;

create or replace trigger bookings_stamp_billing_status_updated_at
  before insert or update on public.bookings
  for each row execute function private.stamp_billing_status_updated_at();

-- Indexes ------------------------------------------------------------------

create index if not exists manual_payments_booking_id_idx on public.manual_payments (booking_id);
create index if not exists manual_payments_customer_id_idx on public.manual_payments (customer_id);
create index if not exists manual_payments_created_by_idx on public.manual_payments (created_by, received_at);
-- manual_payments (payment_id) is indexed by its unique constraint.

-- installment_schedules (booking_id) is indexed by its unique constraint.
create index if not exists installment_schedules_due_date_idx on public.installment_schedules (due_date);
create index if not exists installment_schedules_customer_id_idx on public.installment_schedules (customer_id);
create index if not exists installment_schedules_payment_id_idx on public.installment_schedules (payment_id);

create index if not exists payout_reconciliations_reconciled_by_idx on public.payout_reconciliations (reconciled_by);

create index if not exists financial_exports_requested_by_idx on public.financial_exports (requested_by, created_at);

-- A booking's ledger entries, in posting order.
create index if not exists financial_ledger_booking_id_idx on public.financial_ledger (booking_id, effective_date);
create index if not exists financial_ledger_transaction_id_idx on public.financial_ledger (transaction_id);
create index if not exists financial_ledger_payment_id_idx on public.financial_ledger (payment_id);
create index if not exists financial_ledger_created_by_idx on public.financial_ledger (created_by);

-- RLS policies -------------------------------------------------------------

-- Manual payments: super_admin all; finance and admin users only the ones
-- they recorded, and only as themselves. Nobody but super_admin deletes.
select private.policy_role_based('public.manual_payments', array['super_admin']);
drop policy if exists manual_payments_select_own_records on public.manual_payments;
create policy manual_payments_select_own_records on public.manual_payments
  for select to authenticated
  using ((select private.current_app_role()) in ('finance', 'admin') and created_by = (select auth.uid()));
drop policy if exists manual_payments_insert_own_records on public.manual_payments;
create policy manual_payments_insert_own_records on public.manual_payments
  for insert to authenticated
  with check ((select private.current_app_role()) in ('finance', 'admin') and created_by = (select auth.uid()));
drop policy if exists manual_payments_update_own_records on public.manual_payments;
create policy manual_payments_update_own_records on public.manual_payments
  for update to authenticated
  using ((select private.current_app_role()) in ('finance', 'admin') and created_by = (select auth.uid()))
  with check ((select private.current_app_role()) in ('finance', 'admin') and created_by = (select auth.uid()));

-- Instalments: admins all; finance reads and writes (cancels rather than
-- deletes); customers read their own.
select private.policy_admin_read_write('public.installment_schedules');
select private.policy_role_based('public.installment_schedules', array['finance'], array['select', 'insert', 'update']);
drop policy if exists installment_schedules_select_own on public.installment_schedules;
create policy installment_schedules_select_own on public.installment_schedules
  for select to authenticated using (customer_id = (select auth.uid()));

-- Payout reconciliations: admins all; finance reads and writes.
select private.policy_admin_read_write('public.payout_reconciliations');
select private.policy_role_based('public.payout_reconciliations', array['finance'], array['select', 'insert', 'update']);

-- Financial exports: admins all; finance reads and requests them.
select private.policy_admin_read_write('public.financial_exports');
select private.policy_role_based('public.financial_exports', array['finance'], array['select', 'insert']);
-- An export is requested in the requester's own name.
drop policy if exists financial_exports_insert_as_self on public.financial_exports;
create policy financial_exports_insert_as_self on public.financial_exports
  as restrictive for insert to authenticated
  with check (requested_by = (select auth.uid()));

-- Ledger: finance reads and posts entries as themselves; admin and
-- super_admin read only. Append-only: no app role updates or deletes, and the
-- API roles lose those grants too, so a later permissive policy cannot open them.
select private.policy_role_based('public.financial_ledger', array['finance'], array['select']);
select private.policy_role_based('public.financial_ledger', array['admin', 'super_admin'], array['select']);
drop policy if exists financial_ledger_finance_insert on public.financial_ledger;
create policy financial_ledger_finance_insert on public.financial_ledger
  for insert to authenticated
  with check ((select private.current_app_role()) = 'finance' and created_by = (select auth.uid()));
revoke update, delete, truncate on public.financial_ledger from anon, authenticated;

-- Data migrations ----------------------------------------------------------

-- Billing status of existing bookings from their succeeded payments in the
-- booking's currency: paid (covers the total; a zero total owes nothing),
-- partially_paid, or unpaid. Only rows never stamped (pre-existing bookings;
-- new ones are stamped on insert), so a re-run changes nothing.
with paid as (
  select b.id,
         b.total_amount,
         coalesce(sum(p.amount) filter (where p.status = 'succeeded' and p.currency = b.currency), 0) as amount
    from public.bookings b
    left join public.payments p on p.booking_id = b.id
   where b.billing_status_updated_at is null
   group by b.id
)
update public.bookings b
   set billing_status = case
                          when paid.amount >= paid.total_amount then 'paid'
                          when paid.amount > 0 then 'partially_paid'
                          else 'unpaid'
                        end,
       billing_status_updated_at = now()
  from paid
 where paid.id = b.id;

-- Materialized views -------------------------------------------------------

-- None.

-- Storage ------------------------------------------------------------------

-- None.
