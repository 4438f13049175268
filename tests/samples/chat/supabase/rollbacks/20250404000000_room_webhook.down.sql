drop trigger if exists rooms_announce on public.rooms;
drop function if exists public.announce_room();
drop extension if exists supabase_vault;
drop extension if exists pg_net;
