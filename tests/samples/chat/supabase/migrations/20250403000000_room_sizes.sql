-- How many members each room has, for the room list.
set local lock_timeout = '5s';

create or replace view public.room_sizes as
  select room_id, count(*) as members from public.room_members group by room_id;
grant select on public.room_sizes to authenticated;
