-- Items on a list, visible and editable with the list.
create table if not exists public.items (
  id      bigint generated always as identity primary key,
  list_id bigint not null references public.lists (id) on delete cascade,
  label   text not null
);
create index if not exists items_list_id_idx on public.items (list_id);
alter table public.items enable row level security;
grant select, insert, update, delete on public.items to authenticated;

drop policy if exists items_follow_list on public.items;
create policy items_follow_list on public.items
  for all to authenticated
  using (exists (select from public.lists l where l.id = list_id))
  with check (exists (select from public.lists l where l.id = list_id));
