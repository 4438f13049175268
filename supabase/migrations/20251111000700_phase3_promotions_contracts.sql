-- Phase 3: promotions and contracts.
--
-- Promotions: rules with their conditions, actions and customer segments,
-- redemptions (a rule's max_redemptions is enforced by a trigger that
-- serialises redemptions of the same rule) and daily analytics (a table the
-- reporting job fills). Admins and marketing manage them all; the pricing
-- service reads rules, conditions, actions, segments and redemptions (select
-- only, not analytics); a customer reads only their own redemptions.
--
-- Contracts: versioned templates (version 1 of every existing template is
-- created from its current body, and existing contracts point at it), signers,
-- reminders and an event log; admins only. Customers keep reading their own
-- contracts through the baseline policy.
--
-- Depends on: 20251101000000_baseline_platform (users, bookings,
-- contract_templates, contracts), 20251111000000_phase3_policy_helpers,
-- 20251111000400_phase3_customers (customer_tags, for tag segments).
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions: promotions ----------------------------------------------

create table if not exists public.promo_rules (
  id              uuid primary key default gen_random_uuid(),
  code            text constraint promo_rules_code_key unique
                  constraint promo_rules_code_check check (code ~ '^[A-Z0-9][A-Z0-9_-]{2,31}$'),
  name            text not null,
  description     text,
  status          text not null default 'draft'
                  constraint promo_rules_status_check
                  check (status in ('draft', 'active', 'paused', 'expired', 'archived')),
  priority        bigint not null default 100,
  stackable       boolean not null default false,
  starts_at       timestamptz not null default now(),
  ends_at         timestamptz,
  max_redemptions bigint constraint promo_rules_max_redemptions_check check (max_redemptions > 0),
  created_by      uuid constraint promo_rules_created_by_fkey references public.users (id) on delete set null,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint promo_rules_period_check check (ends_at is null or ends_at > starts_at)
);

create table if not exists public.promo_rule_conditions (
  id         uuid primary key default gen_random_uuid(),
  rule_id    uuid not null
             constraint promo_rule_conditions_rule_id_fkey references public.promo_rules (id) on delete cascade,
  kind       text not null
             constraint promo_rule_conditions_kind_check
             check (kind in ('min_booking_total', 'min_rental_days', 'equipment_category', 'equipment',
                             'weekday', 'first_booking')),
  operator   text not null default 'eq'
             constraint promo_rule_conditions_operator_check
             check (operator in ('eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in')),
  value      jsonb not null,
  created_at timestamptz not null default now()
);

create table if not exists public.promo_rule_actions (
  id           uuid primary key default gen_random_uuid(),
  rule_id      uuid not null
               constraint promo_rule_actions_rule_id_fkey references public.promo_rules (id) on delete cascade,
  kind         text not null
               constraint promo_rule_actions_kind_check
               check (kind in ('percent_off', 'amount_off', 'free_days', 'free_delivery')),
  percent_off  numeric(5, 2) constraint promo_rule_actions_percent_off_check check (percent_off > 0 and percent_off <= 100),
  amount_off   numeric(12, 2) constraint promo_rule_actions_amount_off_check check (amount_off > 0),
  currency     text not null default 'USD' constraint promo_rule_actions_currency_check check (currency ~ '^[A-Z]{3}$'),
  free_days    bigint constraint promo_rule_actions_free_days_check check (free_days > 0),
  created_at   timestamptz not null default now(),
  constraint promo_rule_actions_value_check check (
    (kind = 'percent_off' and percent_off is not null)
    or (kind = 'amount_off' and amount_off is not null)
    or (kind = 'free_days' and free_days is not null)
    or kind = 'free_delivery')
);

create table if not exists public.promo_rule_segments (
  id              uuid primary key default gen_random_uuid(),
  rule_id         uuid not null
                  constraint promo_rule_segments_rule_id_fkey references public.promo_rules (id) on delete cascade,
  segment         text not null
                  constraint promo_rule_segments_segment_check
                  check (segment in ('all_customers', 'new_customers', 'returning_customers', 'customer_tag')),
  customer_tag_id uuid
                  constraint promo_rule_segments_customer_tag_id_fkey
                  references public.customer_tags (id) on delete cascade,
  created_at      timestamptz not null default now(),
  constraint promo_rule_segments_tag_check check ((segment = 'customer_tag') = (customer_tag_id is not null))
);

create table if not exists public.promo_redemptions (
  id              uuid primary key default gen_random_uuid(),
  rule_id         uuid not null
                  constraint promo_redemptions_rule_id_fkey references public.promo_rules (id),
  customer_id     uuid not null
                  constraint promo_redemptions_customer_id_fkey references public.users (id),
  booking_id      uuid constraint promo_redemptions_booking_id_fkey references public.bookings (id),
  status          text not null default 'redeemed'
                  constraint promo_redemptions_status_check check (status in ('redeemed', 'reversed')),
  discount_amount numeric(12, 2) not null default 0
                  constraint promo_redemptions_discount_amount_check check (discount_amount >= 0),
  currency        text not null default 'USD'
                  constraint promo_redemptions_currency_check check (currency ~ '^[A-Z]{3}$'),
  redeemed_at     timestamptz not null default now(),
  constraint promo_redemptions_rule_booking_key unique (rule_id, booking_id)
);

create table if not exists public.promo_analytics_daily (
  id              uuid primary key default gen_random_uuid(),
  rule_id         uuid not null
                  constraint promo_analytics_daily_rule_id_fkey references public.promo_rules (id) on delete cascade,
  day             date not null,
  impressions     bigint not null default 0 constraint promo_analytics_daily_impressions_check check (impressions >= 0),
  redemptions     bigint not null default 0 constraint promo_analytics_daily_redemptions_check check (redemptions >= 0),
  discount_total  numeric(12, 2) not null default 0
                  constraint promo_analytics_daily_discount_total_check check (discount_total >= 0),
  booking_revenue numeric(12, 2) not null default 0
                  constraint promo_analytics_daily_booking_revenue_check check (booking_revenue >= 0),
  currency        text not null default 'USD'
                  constraint promo_analytics_daily_currency_check check (currency ~ '^[A-Z]{3}$'),
  updated_at      timestamptz not null default now(),
  constraint promo_analytics_daily_rule_day_key unique (rule_id, day, currency)
);

-- A rule's max_redemptions: counts the rule's live ('redeemed') redemptions
-- while holding the rule's row lock, so concurrent redemptions of one rule
-- queue instead of both slipping under the cap. SECURITY DEFINER so the count
-- sees every redemption whatever the caller's RLS lets them see.
create or replace function private.enforce_promo_max_redemptions()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  cap bigint;
  used bigint;
begin
  if new.status <> 'redeemed' then
    return new;
  end if;
  select r.max_redemptions into cap from public.promo_rules r where r.id = new.rule_id for no key update;
  if cap is null then
    return new;
  end if;
  select count(*) into used
    from public.promo_redemptions x
   where x.rule_id = new.rule_id and x.status = 'redeemed' and x.id <> new.id;
  if used >= cap then
    raise exception 'promo rule % has reached its max_redemptions (%)', new.rule_id, cap
      using errcode = '23514';
  end if;
  return new;
end
$$;
revoke all on function private.enforce_promo_max_redemptions() from public;

create or replace trigger promo_redemptions_enforce_max_redemptions
  before insert or update of rule_id, status on public.promo_redemptions
  for each row execute function private.enforce_promo_max_redemptions();

-- Schema additions: contracts -----------------------------------------------

create table if not exists public.contract_template_versions (
  id             uuid primary key default gen_random_uuid(),
  template_id    uuid not null
                 constraint contract_template_versions_template_id_fkey references public.contract_templates (id),
  version        bigint not null constraint contract_template_versions_version_check check (version >= 1),
  body           text not null,
  change_summary text,
  published_at   timestamptz,
  created_by     uuid
                 constraint contract_template_versions_created_by_fkey references public.users (id) on delete set null,
  created_at     timestamptz not null default now(),
  constraint contract_template_versions_template_version_key unique (template_id, version)
);

alter table public.contract_templates
  add column if not exists current_version bigint
    constraint contract_templates_current_version_check check (current_version >= 1);
alter table public.contract_templates
  add column if not exists category text not null default 'rental'
    constraint contract_templates_category_check
    check (category in ('rental', 'damage_waiver', 'delivery', 'deposit', 'other'));

alter table public.contracts add column if not exists template_version_id uuid;
alter table public.contracts add column if not exists sent_at timestamptz;
alter table public.contracts add column if not exists expires_at timestamptz;

-- New, all-NULL columns: each check scans its (small) table once under a short lock.
do $constraints$
begin
  if not exists (select from pg_constraint
                 where conrelid = 'public.contract_templates'::regclass
                   and conname = 'contract_templates_current_version_fkey') then
    alter table public.contract_templates
      add constraint contract_templates_current_version_fkey
      foreign key (id, current_version) references public.contract_template_versions (template_id, version);
  end if;
  if not exists (select from pg_constraint
                 where conrelid = 'public.contracts'::regclass and conname = 'contracts_template_version_id_fkey') then
    alter table public.contracts
      add constraint contracts_template_version_id_fkey
      foreign key (template_version_id) references public.contract_template_versions (id);
  end if;
end
$constraints$;

create table if not exists public.contract_signers (
  id            uuid primary key default gen_random_uuid(),
  contract_id   uuid not null
                constraint contract_signers_contract_id_fkey references public.contracts (id) on delete cascade,
  user_id       uuid constraint contract_signers_user_id_fkey references public.users (id) on delete set null,
  signer_role   text not null default 'customer'
                constraint contract_signers_signer_role_check
                check (signer_role in ('customer', 'company', 'witness', 'guarantor')),
  full_name     text not null,
  email         text not null,
  signing_order bigint not null default 1 constraint contract_signers_signing_order_check check (signing_order >= 1),
  status        text not null default 'pending'
                constraint contract_signers_status_check check (status in ('pending', 'viewed', 'signed', 'declined')),
  signed_at     timestamptz,
  created_at    timestamptz not null default now(),
  constraint contract_signers_signed_check check ((status = 'signed') = (signed_at is not null))
);

create table if not exists public.contract_reminders (
  id            uuid primary key default gen_random_uuid(),
  contract_id   uuid not null
                constraint contract_reminders_contract_id_fkey references public.contracts (id) on delete cascade,
  signer_id     uuid
                constraint contract_reminders_signer_id_fkey references public.contract_signers (id) on delete cascade,
  channel       text not null default 'email'
                constraint contract_reminders_channel_check check (channel in ('email', 'sms')),
  status        text not null default 'scheduled'
                constraint contract_reminders_status_check check (status in ('scheduled', 'sent', 'cancelled', 'failed')),
  scheduled_for timestamptz not null,
  sent_at       timestamptz,
  created_at    timestamptz not null default now()
);

create table if not exists public.contract_events (
  id          uuid primary key default gen_random_uuid(),
  contract_id uuid not null
              constraint contract_events_contract_id_fkey references public.contracts (id) on delete cascade,
  signer_id   uuid constraint contract_events_signer_id_fkey references public.contract_signers (id) on delete set null,
  event_type  text not null
              constraint contract_events_event_type_check
              check (event_type in ('created', 'sent', 'viewed', 'signed', 'declined', 'reminded', 'voided',
                                    'expired')),
  actor_id    uuid constraint contract_events_actor_id_fkey references public.users (id) on delete set null,
  details     jsonb not null default '{}'::jsonb,
  occurred_at timestamptz not null default now()
);

-- Indexes ------------------------------------------------------------------

create index if not exists promo_rules_status_period_idx on public.promo_rules (status, starts_at, ends_at);
create index if not exists promo_rules_created_by_idx on public.promo_rules (created_by);
create index if not exists promo_rule_conditions_rule_id_idx on public.promo_rule_conditions (rule_id);
create index if not exists promo_rule_actions_rule_id_idx on public.promo_rule_actions (rule_id);
create index if not exists promo_rule_segments_rule_id_idx on public.promo_rule_segments (rule_id);
create index if not exists promo_rule_segments_customer_tag_id_idx on public.promo_rule_segments (customer_tag_id);
-- rule_id is covered by promo_redemptions_rule_booking_key.
create index if not exists promo_redemptions_customer_id_idx on public.promo_redemptions (customer_id);
create index if not exists promo_redemptions_booking_id_idx on public.promo_redemptions (booking_id);
-- rule_id is covered by promo_analytics_daily_rule_day_key.
create index if not exists promo_analytics_daily_day_idx on public.promo_analytics_daily (day);

-- template_id is covered by contract_template_versions_template_version_key.
create index if not exists contract_template_versions_created_by_idx
  on public.contract_template_versions (created_by);
create index if not exists contract_signers_contract_id_idx on public.contract_signers (contract_id);
create index if not exists contract_signers_user_id_idx on public.contract_signers (user_id);
create unique index if not exists contract_signers_contract_email_key
  on public.contract_signers (contract_id, lower(email));
create index if not exists contract_reminders_contract_id_idx on public.contract_reminders (contract_id);
create index if not exists contract_reminders_signer_id_idx on public.contract_reminders (signer_id);
create index if not exists contract_reminders_due_idx
  on public.contract_reminders (scheduled_for) where status = 'scheduled';
create index if not exists contract_events_contract_occurred_idx on public.contract_events (contract_id, occurred_at);
create index if not exists contract_events_signer_id_idx on public.contract_events (signer_id);
create index if not exists contract_events_actor_id_idx on public.contract_events (actor_id);

-- contracts exists already and CONCURRENTLY cannot run in the migration's
-- transaction; the column is new and all NULL, so the build is one quick
-- scan of contracts, and lock_timeout bounds the wait for its lock.
-- squawk-ignore require-concurrent-index-creation
create index if not exists contracts_template_version_id_idx on public.contracts (template_version_id);

-- RLS policies -------------------------------------------------------------

-- Promotions: admins and marketing manage them; the pricing service reads
-- all but the analytics (select only); customers read their own redemptions.
select private.policy_admin_read_write('public.promo_rules');
select private.policy_role_based('public.promo_rules', array['marketing']);
select private.policy_role_based('public.promo_rules', array['pricing_service'], array['select']);
select private.policy_admin_read_write('public.promo_rule_conditions');
select private.policy_role_based('public.promo_rule_conditions', array['marketing']);
select private.policy_role_based('public.promo_rule_conditions', array['pricing_service'], array['select']);
select private.policy_admin_read_write('public.promo_rule_actions');
select private.policy_role_based('public.promo_rule_actions', array['marketing']);
select private.policy_role_based('public.promo_rule_actions', array['pricing_service'], array['select']);
select private.policy_admin_read_write('public.promo_rule_segments');
select private.policy_role_based('public.promo_rule_segments', array['marketing']);
select private.policy_role_based('public.promo_rule_segments', array['pricing_service'], array['select']);
select private.policy_admin_read_write('public.promo_redemptions');
select private.policy_role_based('public.promo_redemptions', array['marketing']);
select private.policy_role_based('public.promo_redemptions', array['pricing_service'], array['select']);
select private.policy_admin_read_write('public.promo_analytics_daily');
select private.policy_role_based('public.promo_analytics_daily', array['marketing']);

drop policy if exists promo_redemptions_select_own on public.promo_redemptions;
create policy promo_redemptions_select_own on public.promo_redemptions
  for select to authenticated using (customer_id = (select auth.uid()));

-- Contract tables: admins only.
select private.policy_admin_read_write('public.contract_template_versions');
select private.policy_admin_read_write('public.contract_signers');
select private.policy_admin_read_write('public.contract_reminders');
select private.policy_admin_read_write('public.contract_events');

-- Data migrations ----------------------------------------------------------

-- Version 1 of every template is its current body; templates without a
-- current version point at it, and so do contracts without a version.
insert into public.contract_template_versions (template_id, version, body, published_at, created_at)
select t.id, 1, t.body, t.created_at, t.created_at
  from public.contract_templates t
on conflict (template_id, version) do nothing;

update public.contract_templates t
   set current_version = 1
 where t.current_version is null
   and exists (select from public.contract_template_versions v where v.template_id = t.id and v.version = 1);

update public.contracts c
   set template_version_id = v.id
  from public.contract_template_versions v
 where c.template_version_id is null
   and v.template_id = c.template_id
   and v.version = 1;
