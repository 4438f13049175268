-- Rollback of 20251111000500_phase3_payments: drops the finance tables with
-- their rows (manual payment records, instalments, reconciliations, exports
-- and the ledger), the billing columns of bookings, payments.manual_source and
-- the three trigger functions. Baseline rows and policies are untouched.
drop trigger if exists bookings_guard_billing_status on public.bookings;
drop function if exists private.guard_booking_billing_status();
drop trigger if exists bookings_stamp_billing_status_updated_at on public.bookings;
drop function if exists private.stamp_billing_status_updated_at();

alter table public.bookings drop column if exists billing_status;
alter table public.bookings drop column if exists billing_status_updated_at;
alter table public.payments drop column if exists manual_source;

drop table if exists
  public.financial_ledger,
  public.financial_exports,
  public.payout_reconciliations,
  public.installment_schedules,
  public.manual_payments;
drop function if exists private.financial_ledger_check_balanced();
