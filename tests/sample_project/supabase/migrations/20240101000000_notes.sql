-- Notes belong to the auth user who wrote them.
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

create table if not exists public.notes (
  id         bigint generated always as identity primary key,
  owner_id   uuid not null references auth.users (id) on delete cascade,
  body       text not null check (length(body) > 0),
  created_at timestamptz not null default now()
);
create index if not exists notes_owner_id_idx on public.notes (owner_id);

alter table public.notes enable row level security;
-- Supabase grants new tables to no API role (since 2026-10-30): the API serves what is granted here.
grant select, insert, update, delete on public.notes to authenticated, service_role;

drop policy if exists notes_select_own on public.notes;
create policy notes_select_own on public.notes
  for select to authenticated using ((select auth.uid()) = owner_id);
drop policy if exists notes_insert_own on public.notes;
create policy notes_insert_own on public.notes
  for insert to authenticated with check ((select auth.uid()) = owner_id);
drop policy if exists notes_update_own on public.notes;
create policy notes_update_own on public.notes
  for update to authenticated
  using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id);
drop policy if exists notes_delete_own on public.notes;
create policy notes_delete_own on public.notes
  for delete to authenticated using ((select auth.uid()) = owner_id);
