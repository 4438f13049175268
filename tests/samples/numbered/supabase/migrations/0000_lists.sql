-- Shopping lists, each belonging to the signed-in user who made it.
create table if not exists public.lists (
  id       bigint generated always as identity primary key,
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title    text not null
);
create index if not exists lists_owner_id_idx on public.lists (owner_id);
alter table public.lists enable row level security;
grant select, insert, update, delete on public.lists to authenticated;

drop policy if exists lists_own on public.lists;
create policy lists_own on public.lists
  for all to authenticated
  using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id);
