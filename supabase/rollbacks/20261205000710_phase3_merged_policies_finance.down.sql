-- Rollback of 20261205000710_phase3_merged_policies_finance:
-- the finance tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.payout_reconciliations', 'public.financial_exports', 'public.financial_ledger']::regclass[]) t;
