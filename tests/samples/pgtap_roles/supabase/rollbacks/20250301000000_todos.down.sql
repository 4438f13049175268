drop table if exists public.todos;
alter default privileges grant execute on functions to public;
