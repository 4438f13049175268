-- Written for one run: a second one fails (the column exists) and the backfill would run again.
alter table public.todos add column priority smallint;
update public.todos set priority = 2 where priority is null;
alter table public.todos alter column priority set not null;
alter table public.todos alter column priority set default 2;
