drop table if exists public.orders;
drop function if exists public.post_new_order();
