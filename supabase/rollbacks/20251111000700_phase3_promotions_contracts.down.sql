-- Rollback of 20251111000700_phase3_promotions_contracts: drops the promotion
-- and contract tables with their data (template versions, signers, reminders,
-- events) and the new columns on contract_templates and contracts.
drop table if exists
  public.promo_analytics_daily,
  public.promo_redemptions,
  public.promo_rule_segments,
  public.promo_rule_actions,
  public.promo_rule_conditions,
  public.promo_rules;
drop function if exists private.enforce_promo_max_redemptions();

drop table if exists
  public.contract_events,
  public.contract_reminders,
  public.contract_signers;

alter table public.contracts
  drop column if exists expires_at,
  drop column if exists sent_at,
  drop column if exists template_version_id;
alter table public.contract_templates
  drop column if exists category,
  drop column if exists current_version;
drop table if exists public.contract_template_versions;
