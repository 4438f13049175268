drop table if exists public.lists;
