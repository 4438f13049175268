-- Rollback of 20261205000630_phase3_merged_policies_tag_members_audiences:
-- the tag members and campaign audiences tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.customer_tag_members', 'public.campaign_audiences']::regclass[]) t;
