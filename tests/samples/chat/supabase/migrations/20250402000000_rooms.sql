-- Chat rooms: members read them, anyone signed in opens one. Changes are broadcast to the room's
-- private channel `room:<id>`, which only members may join.
set local lock_timeout = '5s';

create schema if not exists private;

create table if not exists public.rooms (
  id         uuid primary key default gen_random_uuid(),
  name       text not null check (length(name) > 0),
  created_by uuid not null default auth.uid() references auth.users (id) on delete cascade
);
create index if not exists rooms_created_by_idx on public.rooms (created_by);

create table if not exists public.room_members (
  room_id uuid not null references public.rooms (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  primary key (room_id, user_id)
);
create index if not exists room_members_user_id_idx on public.room_members (user_id);

alter table public.rooms enable row level security;
alter table public.room_members enable row level security;
grant select, insert on public.rooms to authenticated;
grant select on public.room_members to authenticated;
grant select, insert, update, delete on public.rooms, public.room_members to service_role;

-- Membership, read past RLS (the policies below would otherwise recurse).
create or replace function private.is_member(room uuid) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select from public.room_members m where m.room_id = room and m.user_id = (select auth.uid()))
$$;
grant usage on schema private to authenticated;
revoke execute on function private.is_member(uuid) from public;
grant execute on function private.is_member(uuid) to authenticated;

drop policy if exists rooms_members_read on public.rooms;
create policy rooms_members_read on public.rooms
  for select to authenticated using ((select private.is_member(id)));
drop policy if exists rooms_open_as_self on public.rooms;
create policy rooms_open_as_self on public.rooms
  for insert to authenticated with check ((select auth.uid()) = created_by);
drop policy if exists room_members_read on public.room_members;
create policy room_members_read on public.room_members
  for select to authenticated using ((select private.is_member(room_id)));

-- Realtime: row changes of rooms, and Broadcast on the room's channel.
do $publish$
begin
  if not exists (select from pg_publication_tables
                 where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'rooms') then
    alter publication supabase_realtime add table public.rooms;
  end if;
end
$publish$;

create or replace function public.broadcast_room_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform realtime.broadcast_changes(
    'room:' || coalesce(new.id, old.id)::text, tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
  return null;
end
$$;
drop trigger if exists rooms_broadcast on public.rooms;
create trigger rooms_broadcast
  after insert or update or delete on public.rooms
  for each row execute function public.broadcast_room_change();

drop policy if exists members_receive_their_rooms on realtime.messages;
create policy members_receive_their_rooms on realtime.messages
  for select to authenticated
  using ((select realtime.topic()) like 'room:%'
         and (select private.is_member(substr((select realtime.topic()), 6)::uuid)));
drop policy if exists members_send_to_their_rooms on realtime.messages;
create policy members_send_to_their_rooms on realtime.messages
  for insert to authenticated
  with check ((select realtime.topic()) like 'room:%'
              and (select private.is_member(substr((select realtime.topic()), 6)::uuid)));
