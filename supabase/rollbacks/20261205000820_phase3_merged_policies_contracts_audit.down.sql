-- Rollback of 20261205000820_phase3_merged_policies_contracts_audit:
-- the contracts, incidents and audit tags tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.contracts', 'public.security_incidents', 'public.audit_event_tags']::regclass[]) t;
