-- Rollback of 20251111000200_phase3_bookings: drops the bookings and logistics
-- tables with their rows, the guard on bookings' charges, and the columns
-- added to bookings, delivery_assignments and payments (their constraints and
-- indexes go with them). The baseline tables' own columns, rows and policies
-- are untouched.
drop trigger if exists bookings_guard_charges on public.bookings;
drop function if exists private.guard_booking_charges();

alter table public.delivery_assignments drop column if exists task_id;
alter table public.delivery_assignments drop column if exists route_url;
alter table public.delivery_assignments drop column if exists eta;

alter table public.payments drop column if exists payout_id;

alter table public.bookings drop column if exists pricing_breakdown;
alter table public.bookings drop column if exists deposit_amount;
alter table public.bookings drop column if exists deposit_status;
alter table public.bookings drop column if exists deposit_paid_at;
alter table public.bookings drop column if exists balance_due;

drop table if exists
  public.booking_bulk_operations,
  public.pickup_checklists,
  public.logistics_tasks,
  public.booking_notes,
  public.booking_conflicts,
  public.booking_wizard_sessions;
