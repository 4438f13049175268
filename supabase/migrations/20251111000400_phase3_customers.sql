-- Phase 3: customers and communications.
--
-- Tags and tag members (admins manage, marketing reads them to build
-- audiences), internal notes and a per-customer timeline (admins only),
-- consent per channel and purpose (read by the roles that send messages:
-- admin, super_admin, marketing; each customer reads and updates their own),
-- campaign audiences (marketing manages), and CRM columns on users: risk
-- score, lifetime value (backfilled from succeeded payments), preferred
-- contact method and account manager. The users guard now also keeps the
-- account manager, risk score and lifetime value for admins to change.
--
-- Depends on: 20251101000000_baseline_platform (users, payments, the users
-- guard, private.current_app_role()), 20251111000000_phase3_policy_helpers.
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

alter table public.users
  add column if not exists risk_score numeric(5, 2)
    constraint users_risk_score_check check (risk_score between 0 and 100);
-- lifetime_value arrives without its default and NOT NULL: the backfill
-- below fills exactly the rows that predate it (NULL), then both are set.
alter table public.users
  add column if not exists lifetime_value numeric(12, 2)
    constraint users_lifetime_value_check check (lifetime_value >= 0);
alter table public.users
  add column if not exists lifetime_value_currency text not null default 'USD'
    constraint users_lifetime_value_currency_check check (lifetime_value_currency ~ '^[A-Z]{3}$');
alter table public.users
  add column if not exists preferred_contact_method text
    constraint users_preferred_contact_method_check
    check (preferred_contact_method in ('email', 'sms', 'phone', 'post'));
alter table public.users add column if not exists account_manager_id uuid;

-- A new, all-NULL column: the check scans users once under a short lock.
do $constraints$
begin
  if not exists (select from pg_constraint
                 where conrelid = 'public.users'::regclass and conname = 'users_account_manager_id_fkey') then
    alter table public.users
      add constraint users_account_manager_id_fkey
      foreign key (account_manager_id) references public.users (id) on delete set null;
  end if;
end
$constraints$;

create table if not exists public.customer_tags (
  id          uuid primary key default gen_random_uuid(),
  name        text not null constraint customer_tags_name_check check (length(btrim(name)) between 1 and 64),
  description text,
  color       text constraint customer_tags_color_check check (color ~ '^#[0-9a-fA-F]{6}$'),
  created_by  uuid constraint customer_tags_created_by_fkey references public.users (id) on delete set null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table if not exists public.customer_tag_members (
  id          uuid primary key default gen_random_uuid(),
  tag_id      uuid not null
              constraint customer_tag_members_tag_id_fkey references public.customer_tags (id) on delete cascade,
  customer_id uuid not null
              constraint customer_tag_members_customer_id_fkey references public.users (id) on delete cascade,
  added_by    uuid constraint customer_tag_members_added_by_fkey references public.users (id) on delete set null,
  created_at  timestamptz not null default now(),
  constraint customer_tag_members_tag_customer_key unique (tag_id, customer_id)
);

create table if not exists public.customer_notes (
  id          uuid primary key default gen_random_uuid(),
  customer_id uuid not null
              constraint customer_notes_customer_id_fkey references public.users (id) on delete cascade,
  author_id   uuid constraint customer_notes_author_id_fkey references public.users (id) on delete set null,
  body        text not null constraint customer_notes_body_check check (length(btrim(body)) > 0),
  is_pinned   boolean not null default false,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table if not exists public.customer_timeline_events (
  id          uuid primary key default gen_random_uuid(),
  customer_id uuid not null
              constraint customer_timeline_events_customer_id_fkey references public.users (id) on delete cascade,
  kind        text not null
              constraint customer_timeline_events_kind_check
              check (kind in ('booking', 'payment', 'support', 'contract', 'note', 'consent', 'campaign', 'account')),
  summary     text not null,
  details     jsonb not null default '{}'::jsonb,
  actor_id    uuid constraint customer_timeline_events_actor_id_fkey references public.users (id) on delete set null,
  occurred_at timestamptz not null default now(),
  created_at  timestamptz not null default now()
);

create table if not exists public.customer_consent (
  id           uuid primary key default gen_random_uuid(),
  customer_id  uuid not null
               constraint customer_consent_customer_id_fkey references public.users (id) on delete cascade,
  channel      text not null
               constraint customer_consent_channel_check check (channel in ('email', 'sms', 'phone', 'post', 'push')),
  purpose      text not null default 'marketing'
               constraint customer_consent_purpose_check check (purpose in ('marketing', 'service', 'surveys')),
  status       text not null default 'withdrawn'
               constraint customer_consent_status_check check (status in ('granted', 'withdrawn')),
  source       text,
  granted_at   timestamptz,
  withdrawn_at timestamptz,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint customer_consent_customer_channel_purpose_key unique (customer_id, channel, purpose)
);

create table if not exists public.campaign_audiences (
  id              uuid primary key default gen_random_uuid(),
  name            text not null constraint campaign_audiences_name_key unique,
  description     text,
  channel         text not null default 'email'
                  constraint campaign_audiences_channel_check check (channel in ('email', 'sms', 'phone', 'post', 'push')),
  customer_tag_id uuid
                  constraint campaign_audiences_customer_tag_id_fkey
                  references public.customer_tags (id) on delete set null,
  criteria        jsonb not null default '{}'::jsonb,
  status          text not null default 'draft'
                  constraint campaign_audiences_status_check check (status in ('draft', 'active', 'archived')),
  created_by      uuid constraint campaign_audiences_created_by_fkey references public.users (id) on delete set null,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);

-- Only staff change the CRM columns. Same role rule as the baseline (only a
-- super admin changes app roles); account manager, risk score and lifetime
-- value are for admin and super_admin. The service role and migrations
-- (postgres) stay trusted. Runs as the caller, so current_user is the API role.
create or replace function private.guard_user_privileged_columns()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated') and new.id is distinct from old.id then
    raise exception 'a user''s id cannot change'
      using errcode = '42501';
  end if;
  if current_user in ('anon', 'authenticated')
     and new.role is distinct from old.role
     and coalesce(private.current_app_role(), '') <> 'super_admin' then
    raise exception 'only a super admin can change a user''s role'
      using errcode = '42501';
  end if;
  if current_user in ('anon', 'authenticated')
     and (new.account_manager_id is distinct from old.account_manager_id
          or new.risk_score is distinct from old.risk_score
          or new.lifetime_value is distinct from old.lifetime_value
          or new.lifetime_value_currency is distinct from old.lifetime_value_currency)
     and coalesce(private.current_app_role(), '') not in ('admin', 'super_admin') then
    raise exception 'only an admin can change a user''s account manager, risk score or lifetime value'
      using errcode = '42501';
  end if;
  return new;
end
$$;

-- Indexes ------------------------------------------------------------------

-- users exists already and CONCURRENTLY cannot run in the migration's
-- transaction; the column is new and all NULL, so the build is one quick
-- scan of users, and lock_timeout bounds the wait for its lock.
-- squawk-ignore require-concurrent-index-creation
create index if not exists users_account_manager_id_idx on public.users (account_manager_id);

create unique index if not exists customer_tags_name_key on public.customer_tags (lower(name));
create index if not exists customer_tags_created_by_idx on public.customer_tags (created_by);
-- tag_id is covered by customer_tag_members_tag_customer_key.
create index if not exists customer_tag_members_customer_id_idx on public.customer_tag_members (customer_id);
create index if not exists customer_tag_members_added_by_idx on public.customer_tag_members (added_by);
create index if not exists customer_notes_customer_id_idx on public.customer_notes (customer_id, created_at);
create index if not exists customer_notes_author_id_idx on public.customer_notes (author_id);
create index if not exists customer_timeline_events_customer_occurred_idx
  on public.customer_timeline_events (customer_id, occurred_at);
create index if not exists customer_timeline_events_actor_id_idx on public.customer_timeline_events (actor_id);
-- customer_id is covered by customer_consent_customer_channel_purpose_key.
create index if not exists customer_consent_channel_granted_idx
  on public.customer_consent (channel, purpose) where status = 'granted';
create index if not exists campaign_audiences_customer_tag_id_idx on public.campaign_audiences (customer_tag_id);
create index if not exists campaign_audiences_created_by_idx on public.campaign_audiences (created_by);

-- RLS policies -------------------------------------------------------------

-- Tags: admins manage them; marketing reads them to build audiences.
select private.policy_admin_read_write('public.customer_tags');
select private.policy_role_based('public.customer_tags', array['marketing'], array['select']);
select private.policy_admin_read_write('public.customer_tag_members');
select private.policy_role_based('public.customer_tag_members', array['marketing'], array['select']);

-- Internal notes and the timeline: admins only.
select private.policy_admin_read_write('public.customer_notes');
select private.policy_admin_read_write('public.customer_timeline_events');

-- Consent: admins manage it, marketing reads it before sending, and each
-- customer reads and updates their own.
select private.policy_admin_read_write('public.customer_consent');
select private.policy_role_based('public.customer_consent', array['marketing'], array['select']);
drop policy if exists customer_consent_select_own on public.customer_consent;
create policy customer_consent_select_own on public.customer_consent
  for select to authenticated using (customer_id = (select auth.uid()));
drop policy if exists customer_consent_update_own on public.customer_consent;
create policy customer_consent_update_own on public.customer_consent
  for update to authenticated
  using (customer_id = (select auth.uid()))
  with check (customer_id = (select auth.uid()));

-- Audiences: marketing manages them, and so do admins.
select private.policy_admin_read_write('public.campaign_audiences');
select private.policy_role_based('public.campaign_audiences', array['marketing']);

-- Data migrations ----------------------------------------------------------

-- Lifetime value: the sum of a user's succeeded payments in the value's
-- currency (USD unless set otherwise), 0 without any. Only rows that predate
-- the column (still NULL) are touched: a re-run leaves the values the
-- application has maintained since as they are.
update public.users u
   set lifetime_value = coalesce((select sum(p.amount)
                                    from public.payments p
                                   where p.customer_id = u.id
                                     and p.status = 'succeeded'
                                     and p.currency = u.lifetime_value_currency), 0)
 where u.lifetime_value is null;
alter table public.users alter column lifetime_value set default 0;
-- The scan runs under the ACCESS EXCLUSIVE lock the ADD COLUMN above already
-- holds, and is skipped on a re-run (the column is NOT NULL by then).
-- squawk-ignore adding-not-nullable-field
alter table public.users alter column lifetime_value set not null;
