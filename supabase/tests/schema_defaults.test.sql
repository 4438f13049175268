-- The schema's defaults, as pgTAP sees them: RLS everywhere, nothing for anon,
-- dashboard views behind their checked functions. Runs with `supabase test db`
-- and, in parallel, as a pytest item of the gate.
begin;
select plan(5);

select is(
  (select count(*)::int from pg_tables where schemaname = 'public' and not rowsecurity),
  0,
  'every public table enables row level security'
);
select is(
  (select count(*)::int from pg_policies where schemaname = 'public' and roles && array['anon', 'public']::name[]),
  0,
  'no policy in public is for anon or public'
);
select ok(
  not has_function_privilege('anon', 'public.dashboard_kpis()', 'execute'),
  'anon cannot call the dashboard'
);
select ok(
  not has_table_privilege('authenticated', 'public.mv_dashboard_kpis', 'select'),
  'signed-in users cannot read the dashboard view directly'
);
select has_function('private', 'refresh_dashboard_views', 'the dashboard has its refresh function');

select * from finish();
rollback;
