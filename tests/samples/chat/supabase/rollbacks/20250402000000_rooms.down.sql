drop policy if exists members_send_to_their_rooms on realtime.messages;
drop policy if exists members_receive_their_rooms on realtime.messages;
drop table if exists public.room_members;
drop table if exists public.rooms;
drop function if exists public.broadcast_room_change();
drop function if exists private.is_member(uuid);
drop schema if exists private;
