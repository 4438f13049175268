-- Rollback of 20261205000610_phase3_merged_policies_bookings:
-- the bookings tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.bookings', 'public.booking_notes', 'public.booking_wizard_sessions']::regclass[]) t;
