-- Functions are not executable by everyone unless granted: a common hardening step.
alter default privileges revoke execute on functions from public;

create table if not exists public.todos (
  id       bigint generated always as identity primary key,
  owner_id uuid not null default auth.uid(),
  title    text not null check (length(title) > 0)
);
alter table public.todos enable row level security;
grant select, insert, update, delete on public.todos to authenticated;

drop policy if exists todos_own on public.todos;
create policy todos_own on public.todos
  for all to authenticated
  using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id);
