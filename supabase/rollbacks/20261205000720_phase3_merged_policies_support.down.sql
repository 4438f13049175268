-- Rollback of 20261205000720_phase3_merged_policies_support:
-- the insurance and support tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.insurance_documents', 'public.support_tickets', 'public.support_messages']::regclass[]) t;
