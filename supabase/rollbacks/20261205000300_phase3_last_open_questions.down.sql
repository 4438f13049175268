-- Rollback of 20261205000300_phase3_last_open_questions: the three questions
-- open again (finance reaches only its own bookings, an admin may create a
-- setting that requires approval, every admin reads and writes every admin's
-- saved filters and exports).

set local lock_timeout = '5s';

drop policy if exists dashboard_saved_filters_select_own on public.dashboard_saved_filters;
drop policy if exists dashboard_saved_filters_insert_own on public.dashboard_saved_filters;
drop policy if exists dashboard_saved_filters_update_own on public.dashboard_saved_filters;
drop policy if exists dashboard_saved_filters_delete_own on public.dashboard_saved_filters;
drop policy if exists dashboard_exports_select_own on public.dashboard_exports;
drop policy if exists dashboard_exports_insert_own on public.dashboard_exports;
drop policy if exists dashboard_exports_update_own on public.dashboard_exports;
drop policy if exists dashboard_exports_delete_own on public.dashboard_exports;
select private.policy_admin_read_write('public.dashboard_saved_filters');
select private.policy_admin_read_write('public.dashboard_exports');

drop trigger if exists system_settings_guard_new_approval on public.system_settings;
drop function if exists private.guard_system_settings_new_approval();

drop trigger if exists bookings_guard_finance_changes on public.bookings;
drop function if exists private.guard_booking_finance_changes();
drop policy if exists bookings_update_finance on public.bookings;
drop policy if exists bookings_select_finance on public.bookings;
