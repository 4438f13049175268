-- Rollback of 20261205000800_phase3_merged_policies_promotions:
-- the promotion rules tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.promo_rules', 'public.promo_rule_conditions', 'public.promo_rule_actions']::regclass[]) t;
