-- Phase 3, audit & security: an append-only audit log with tags, security
-- incidents, staff invites and sessions, an encrypted secret store, approval
-- of settings changes, and two-factor flags on users.
--
-- Depends on: 20251101000000_baseline_platform (users, system_settings,
-- private.current_app_role()) and 20251111000000_phase3_policy_helpers.
--
-- Access (the service role bypasses RLS everywhere, as the trusted backend):
-- - audit_events: admins and the security role read; admins append events in
--   their own name and role, stamped with the current time; nobody updates,
--   deletes or truncates them, the service role included (grants revoked);
-- - audit_event_tags: admins read and write, the security role reads;
-- - security_incidents: admins and the security role read and write;
-- - admin_invites: admins, and only a super admin invites a super admin;
-- - admin_sessions: admins read; only the service role writes them (the API
--   roles hold no write grant); admins revoke a session through
--   public.revoke_admin_session(), an admin not a super admin's;
-- - settings_change_requests: admins read; an admin files a pending request
--   in their own name; another admin approves or rejects it as themselves;
--   the service role applies it;
-- - system_settings.requires_approval: only a super admin switches it; the
--   value of a setting that requires approval changes only through the
--   service role (which applies an approved change request);
-- - secret_store: super admins only (ciphertext, never plaintext);
-- - users.two_factor_*: the owner may switch two-factor on (the baseline's own-
--   profile policy); switching it off through the API takes an admin for a
--   customer and a super admin for staff.
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

alter table public.users add column if not exists two_factor_enabled boolean not null default false;
alter table public.users add column if not exists two_factor_enrolled_at timestamptz;

alter table public.system_settings add column if not exists requires_approval boolean not null default false;
alter table public.system_settings add column if not exists validation_endpoint text;

create table if not exists public.audit_events (
  id           uuid primary key default gen_random_uuid(),
  occurred_at  timestamptz not null default now(),
  actor_id     uuid constraint audit_events_actor_id_fkey references public.users (id) on delete set null,
  actor_role   text,
  action       text not null
               constraint audit_events_action_check check (action ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'),
  target_table text,
  target_id    text,
  severity     text not null default 'info'
               constraint audit_events_severity_check check (severity in ('info', 'notice', 'warning', 'critical')),
  ip_address   inet,
  user_agent   text,
  metadata     jsonb not null default '{}'::jsonb
               constraint audit_events_metadata_check check (jsonb_typeof(metadata) = 'object'),
  created_at   timestamptz not null default now()
);

create table if not exists public.audit_event_tags (
  id         uuid primary key default gen_random_uuid(),
  event_id   uuid not null
             constraint audit_event_tags_event_id_fkey references public.audit_events (id) on delete cascade,
  tag        text not null constraint audit_event_tags_tag_check check (tag ~ '^[a-z0-9][a-z0-9_.:-]{0,62}$'),
  created_by uuid constraint audit_event_tags_created_by_fkey references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint audit_event_tags_event_id_tag_key unique (event_id, tag)
);

create table if not exists public.security_incidents (
  id             uuid primary key default gen_random_uuid(),
  title          text not null,
  description    text,
  severity       text not null default 'medium'
                 constraint security_incidents_severity_check
                 check (severity in ('low', 'medium', 'high', 'critical')),
  status         text not null default 'open'
                 constraint security_incidents_status_check
                 check (status in ('open', 'investigating', 'contained', 'resolved', 'closed')),
  reported_by    uuid constraint security_incidents_reported_by_fkey references public.users (id) on delete set null,
  assigned_to    uuid constraint security_incidents_assigned_to_fkey references public.users (id) on delete set null,
  audit_event_id uuid
                 constraint security_incidents_audit_event_id_fkey
                 references public.audit_events (id) on delete set null,
  detected_at    timestamptz not null default now(),
  resolved_at    timestamptz,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint security_incidents_resolved_check check (status not in ('resolved', 'closed') or resolved_at is not null)
);

create table if not exists public.admin_invites (
  id          uuid primary key default gen_random_uuid(),
  email       text not null constraint admin_invites_email_check check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  role        text not null
              constraint admin_invites_role_check
              check (role in ('admin', 'super_admin', 'finance', 'marketing', 'security', 'pricing_service')),
  token_hash  bytea not null constraint admin_invites_token_hash_key unique,
  status      text not null default 'pending'
              constraint admin_invites_status_check check (status in ('pending', 'accepted', 'revoked', 'expired')),
  invited_by  uuid not null constraint admin_invites_invited_by_fkey references public.users (id) on delete cascade,
  accepted_by uuid constraint admin_invites_accepted_by_fkey references public.users (id) on delete set null,
  accepted_at timestamptz,
  expires_at  timestamptz not null default (now() + interval '7 days'),
  created_at  timestamptz not null default now(),
  constraint admin_invites_accepted_check check (status <> 'accepted' or accepted_at is not null)
);

create table if not exists public.admin_sessions (
  id                  uuid primary key default gen_random_uuid(),
  user_id             uuid not null
                      constraint admin_sessions_user_id_fkey references public.users (id) on delete cascade,
  session_token_hash  bytea not null constraint admin_sessions_session_token_hash_key unique,
  ip_address          inet,
  user_agent          text,
  two_factor_verified boolean not null default false,
  last_seen_at        timestamptz not null default now(),
  expires_at          timestamptz not null,
  revoked_at          timestamptz,
  revoked_by          uuid constraint admin_sessions_revoked_by_fkey references public.users (id) on delete set null,
  created_at          timestamptz not null default now(),
  constraint admin_sessions_expiry_check check (expires_at > created_at)
);

-- Ciphertext only: the application encrypts with the key named by key_version
-- (kept outside the database) and stores nonce + ciphertext here.
create table if not exists public.secret_store (
  id          uuid primary key default gen_random_uuid(),
  key         text not null
              constraint secret_store_key_key unique
              constraint secret_store_key_check check (key ~ '^[a-z][a-z0-9_.-]*$'),
  ciphertext  bytea not null,
  nonce       bytea not null,
  key_version bigint not null default 1 constraint secret_store_key_version_check check (key_version > 0),
  algorithm   text not null default 'aes-256-gcm'
              constraint secret_store_algorithm_check check (algorithm in ('aes-256-gcm', 'xchacha20-poly1305')),
  description text,
  created_by  uuid constraint secret_store_created_by_fkey references public.users (id) on delete set null,
  rotated_at  timestamptz,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table if not exists public.settings_change_requests (
  id             uuid primary key default gen_random_uuid(),
  setting_key    text not null
                 constraint settings_change_requests_setting_key_fkey
                 references public.system_settings (key) on update cascade on delete cascade,
  proposed_value jsonb not null,
  previous_value jsonb,
  reason         text,
  status         text not null default 'pending'
                 constraint settings_change_requests_status_check
                 check (status in ('pending', 'approved', 'rejected', 'applied', 'cancelled')),
  requested_by   uuid not null constraint settings_change_requests_requested_by_fkey references public.users (id),
  reviewed_by    uuid constraint settings_change_requests_reviewed_by_fkey references public.users (id),
  reviewed_at    timestamptz,
  applied_at     timestamptz,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  -- Four eyes: nobody approves their own change.
  constraint settings_change_requests_reviewer_check check (reviewed_by is null or reviewed_by <> requested_by),
  constraint settings_change_requests_reviewed_check
    check (status in ('pending', 'cancelled') or (reviewed_by is not null and reviewed_at is not null))
);

-- Two-factor through the API: anyone allowed to update the row may switch it
-- on (enrolled_at defaults to now); switching it off, or clearing enrolled_at,
-- takes an admin for a customer and a super admin for staff (any other app
-- role). The service role and migrations are trusted. Runs as the caller, so
-- current_user is the API role.
create or replace function private.guard_user_two_factor()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  caller_role text;
begin
  if new.two_factor_enabled and not old.two_factor_enabled then
    new.two_factor_enrolled_at := coalesce(new.two_factor_enrolled_at, now());
  end if;
  if current_user in ('anon', 'authenticated')
     and ((old.two_factor_enabled and not new.two_factor_enabled)
          or (old.two_factor_enrolled_at is not null and new.two_factor_enrolled_at is null)) then
    caller_role := coalesce(private.current_app_role(), '');
    if caller_role <> 'super_admin'
       and not (caller_role = 'admin' and old.role = 'customer' and new.role = 'customer') then
      raise exception 'only a super admin can switch off two-factor authentication for staff, and an admin for a customer'
        using errcode = '42501';
    end if;
  end if;
  return new;
end
$$;
revoke all on function private.guard_user_two_factor() from public;
grant execute on function private.guard_user_two_factor() to authenticated;

create or replace trigger users_guard_two_factor
  before update of two_factor_enabled, two_factor_enrolled_at on public.users
  for each row execute function private.guard_user_two_factor();

-- Settings that require approval, through the API: only a super admin
-- switches requires_approval (either way), and renames, re-points the
-- validation endpoint of, or deletes a setting that requires it; nobody
-- changes such a setting's value (the service role applies an approved
-- change request). The service role and migrations are trusted. Runs as the
-- caller, so current_user is the API role.
create or replace function private.guard_system_settings_approval()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  by_super_admin boolean;
begin
  if current_user not in ('anon', 'authenticated') then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  by_super_admin := coalesce(private.current_app_role(), '') = 'super_admin';
  if tg_op = 'DELETE' then
    if old.requires_approval and not by_super_admin then
      raise exception 'only a super admin can delete setting %, which requires approval', old.key
        using errcode = '42501';
    end if;
    return old;
  end if;
  if new.requires_approval is distinct from old.requires_approval and not by_super_admin then
    raise exception 'only a super admin can change whether setting % requires approval', old.key
      using errcode = '42501';
  end if;
  if old.requires_approval and new.value is distinct from old.value then
    raise exception 'setting % requires approval: file a change request; it is applied once approved', old.key
      using errcode = '42501';
  end if;
  if old.requires_approval and not by_super_admin
     and (new.key is distinct from old.key or new.validation_endpoint is distinct from old.validation_endpoint) then
    raise exception 'only a super admin can rename or re-point setting %, which requires approval', old.key
      using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function private.guard_system_settings_approval() from public;
grant execute on function private.guard_system_settings_approval() to authenticated;

create or replace trigger system_settings_guard_approval
  before update or delete on public.system_settings
  for each row execute function private.guard_system_settings_approval();

-- Change requests through the API: what is requested, by whom and when never
-- changes; a pending request is cancelled, or approved or rejected by the
-- signed-in user as reviewer (the four-eyes check keeps that user from being
-- the requester); only the service role marks it applied. Runs as the caller.
create or replace function private.guard_settings_change_request()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  if (new.setting_key, new.proposed_value, new.previous_value, new.requested_by, new.created_at)
     is distinct from (old.setting_key, old.proposed_value, old.previous_value, old.requested_by, old.created_at) then
    raise exception 'a settings change request cannot be rewritten: cancel it and file a new one'
      using errcode = '42501';
  end if;
  if (new.status, new.reviewed_by, new.reviewed_at, new.applied_at)
     is distinct from (old.status, old.reviewed_by, old.reviewed_at, old.applied_at)
     and not (old.status = 'pending'
              and new.applied_at is null
              and ((new.status = 'cancelled' and new.reviewed_by is null and new.reviewed_at is null)
                   or (new.status in ('approved', 'rejected') and new.reviewed_by = (select auth.uid())))) then
    raise exception 'a pending change request is cancelled, or reviewed in the reviewer''s own name; '
                    'the service role applies it'
      using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function private.guard_settings_change_request() from public;
grant execute on function private.guard_settings_change_request() to authenticated;

create or replace trigger settings_change_requests_guard
  before update on public.settings_change_requests
  for each row execute function private.guard_settings_change_request();

-- The one write admins make on admin_sessions: revoke a session (revoked_at
-- and revoked_by, nothing else), of a user of equal or lower rank (an admin
-- cannot revoke a super admin's session). Returns false when the session was
-- already revoked. SECURITY DEFINER: the API roles hold no write grant on
-- admin_sessions.
create or replace function public.revoke_admin_session(session_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  caller_role text := coalesce((select private.current_app_role()), '');
  target_role text;
begin
  if caller_role not in ('admin', 'super_admin') then
    raise exception 'only admins revoke admin sessions' using errcode = '42501';
  end if;
  select u.role into target_role
    from public.admin_sessions s
    join public.users u on u.id = s.user_id
   where s.id = revoke_admin_session.session_id
     for update of s;
  if not found then
    raise exception 'no admin session %', revoke_admin_session.session_id using errcode = 'P0002';
  end if;
  if target_role = 'super_admin' and caller_role <> 'super_admin' then
    raise exception 'only a super admin can revoke a super admin''s session' using errcode = '42501';
  end if;
  update public.admin_sessions s
     set revoked_at = now(), revoked_by = (select auth.uid())
   where s.id = revoke_admin_session.session_id and s.revoked_at is null;
  return found;
end
$$;
revoke all on function public.revoke_admin_session(uuid) from public, anon, service_role;
grant execute on function public.revoke_admin_session(uuid) to authenticated;

-- Indexes ------------------------------------------------------------------

create index if not exists audit_events_metadata_idx on public.audit_events using gin (metadata);
create index if not exists audit_events_actor_id_idx on public.audit_events (actor_id);
create index if not exists audit_events_occurred_at_idx on public.audit_events (occurred_at desc);
create index if not exists audit_events_target_idx on public.audit_events (target_table, target_id);
-- audit_event_tags.event_id: served by audit_event_tags_event_id_tag_key (event_id, tag).
create index if not exists audit_event_tags_tag_idx on public.audit_event_tags (tag);
create index if not exists audit_event_tags_created_by_idx on public.audit_event_tags (created_by);
create index if not exists security_incidents_reported_by_idx on public.security_incidents (reported_by);
create index if not exists security_incidents_assigned_to_idx on public.security_incidents (assigned_to);
create index if not exists security_incidents_audit_event_id_idx on public.security_incidents (audit_event_id);
create index if not exists security_incidents_status_idx on public.security_incidents (status);
create index if not exists admin_invites_invited_by_idx on public.admin_invites (invited_by);
create index if not exists admin_invites_accepted_by_idx on public.admin_invites (accepted_by);
create unique index if not exists admin_invites_pending_email_key
  on public.admin_invites (lower(email)) where status = 'pending';
create index if not exists admin_sessions_user_id_idx on public.admin_sessions (user_id);
create index if not exists admin_sessions_revoked_by_idx on public.admin_sessions (revoked_by);
create index if not exists secret_store_created_by_idx on public.secret_store (created_by);
create index if not exists settings_change_requests_setting_key_idx on public.settings_change_requests (setting_key);
create index if not exists settings_change_requests_requested_by_idx
  on public.settings_change_requests (requested_by);
create index if not exists settings_change_requests_reviewed_by_idx on public.settings_change_requests (reviewed_by);
-- At most one pending request per setting.
create unique index if not exists settings_change_requests_pending_key
  on public.settings_change_requests (setting_key) where status = 'pending';

-- RLS policies -------------------------------------------------------------

-- audit_events: append-only. Admins and security read; admins append in their
-- own name and role, stamped within five minutes of now.
select private.policy_role_based('public.audit_events', array['admin', 'super_admin', 'security'], array['select']);
drop policy if exists audit_events_insert_admin_as_self on public.audit_events;
create policy audit_events_insert_admin_as_self on public.audit_events
  for insert to authenticated
  with check ((select private.current_app_role()) in ('admin', 'super_admin')
              and actor_id = (select auth.uid())
              and actor_role = (select private.current_app_role())
              and occurred_at between now() - interval '5 minutes' and now() + interval '5 minutes'
              and created_at between now() - interval '5 minutes' and now() + interval '5 minutes');
-- Nobody rewrites the log, the service role included (it bypasses RLS, so the
-- grants decide). Deleting a user still clears actor_id: foreign-key actions
-- run as the table's owner.
revoke update, delete, truncate on public.audit_events from anon, authenticated, service_role;

select private.policy_admin_read_write('public.audit_event_tags');
select private.policy_role_based('public.audit_event_tags', array['security'], array['select']);

select private.policy_admin_read_write('public.security_incidents');
select private.policy_role_based('public.security_incidents', array['security']);

-- admin_invites: admins; an invite to become super admin only from a super admin.
select private.policy_admin_read_write('public.admin_invites');
drop policy if exists admin_invites_super_admin_insert_by_super_admin on public.admin_invites;
create policy admin_invites_super_admin_insert_by_super_admin on public.admin_invites
  as restrictive for insert to authenticated
  with check (role <> 'super_admin' or (select private.current_app_role()) = 'super_admin');
drop policy if exists admin_invites_super_admin_update_by_super_admin on public.admin_invites;
create policy admin_invites_super_admin_update_by_super_admin on public.admin_invites
  as restrictive for update to authenticated
  using (role <> 'super_admin' or (select private.current_app_role()) = 'super_admin')
  with check (role <> 'super_admin' or (select private.current_app_role()) = 'super_admin');

-- admin_sessions: admins read; only the service role writes (revoking goes
-- through public.revoke_admin_session()).
select private.policy_role_based('public.admin_sessions', array['admin', 'super_admin'], array['select']);
revoke insert, update, delete, truncate on public.admin_sessions from anon, authenticated;

select private.policy_role_based('public.secret_store', array['super_admin']);

-- settings_change_requests: admins read, review (see the guard above) and
-- delete; a new request is pending, unreviewed and in the requester's name.
select private.policy_role_based(
  'public.settings_change_requests', array['admin', 'super_admin'], array['select', 'update', 'delete']
);
drop policy if exists settings_change_requests_insert_pending_as_self on public.settings_change_requests;
create policy settings_change_requests_insert_pending_as_self on public.settings_change_requests
  for insert to authenticated
  with check ((select private.current_app_role()) in ('admin', 'super_admin')
              and requested_by = (select auth.uid())
              and status = 'pending'
              and reviewed_by is null
              and reviewed_at is null
              and applied_at is null);

-- Data migrations ----------------------------------------------------------

-- None: the new columns' constant defaults (two_factor_enabled = false,
-- requires_approval = false) already hold for every existing row.

-- Materialized views -------------------------------------------------------

-- None.

-- Storage ------------------------------------------------------------------

-- None.
