-- Rollback of 20261205000810_phase3_merged_policies_promotion_results:
-- the promotion segments, redemptions and analytics tables' policies back as they were before the merge, each
-- under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.promo_rule_segments', 'public.promo_redemptions', 'public.promo_analytics_daily']::regclass[]) t;
