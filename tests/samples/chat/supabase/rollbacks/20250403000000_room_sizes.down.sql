drop view if exists public.room_sizes;
