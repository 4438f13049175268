-- Rollback of 20261205000620_phase3_merged_policies_deliveries_consent_tags:
-- the deliveries, consent and customer tags tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.delivery_assignments', 'public.customer_consent', 'public.customer_tags']::regclass[]) t;
