select cron.unschedule('tidy-depots');
drop table if exists public.depots;
