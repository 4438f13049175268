drop table if exists public.tasks;
