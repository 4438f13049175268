-- Tasks, each visible to the user who owns it.
create table if not exists public.tasks (
  id       bigint generated always as identity primary key,
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title    text not null
);
alter table public.tasks enable row level security;
grant select, insert on public.tasks to authenticated;

drop policy if exists tasks_own on public.tasks;
create policy tasks_own on public.tasks
  for all to authenticated
  using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id);
