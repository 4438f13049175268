-- Rollback of 20261205000700_phase3_merged_policies_payments:
-- the payments tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.payments', 'public.installment_schedules', 'public.manual_payments']::regclass[]) t;
