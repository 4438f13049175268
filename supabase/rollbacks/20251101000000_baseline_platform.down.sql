-- Rollback of 20251101000000_baseline_platform: back to a bare Supabase
-- database. Drops every baseline table with its data; run it only where that
-- is intended (a test database, or a staging reset).
drop trigger if exists users_guard_privileged_columns on public.users;
drop table if exists
  public.system_settings,
  public.contracts,
  public.contract_templates,
  public.insurance_documents,
  public.support_tickets,
  public.delivery_assignments,
  public.payments,
  public.bookings,
  public.equipment,
  public.users;
drop function if exists private.guard_user_privileged_columns();
drop function if exists private.current_app_role();
drop schema if exists private;
