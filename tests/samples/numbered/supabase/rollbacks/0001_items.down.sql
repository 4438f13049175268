drop table if exists public.items;
