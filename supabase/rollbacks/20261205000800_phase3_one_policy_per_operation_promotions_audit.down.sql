-- Rollback of 20261205000800_phase3_one_policy_per_operation_promotions_audit:
-- the promotions, contracts and audit tables'
-- policies back as they were before the merge, each under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.promo_rules', 'public.promo_rule_conditions', 'public.promo_rule_actions',
                    'public.promo_rule_segments', 'public.promo_redemptions',
                    'public.promo_analytics_daily', 'public.contracts',
                    'public.security_incidents', 'public.audit_event_tags']::regclass[]) t;
