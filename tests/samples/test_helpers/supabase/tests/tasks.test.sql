-- Each user sees their own tasks, written with the project's test helpers.
begin;
create extension "acme-supabase_test_helpers" version '0.0.6';
select plan(2);

select tests.create_user('ada');
select tests.create_user('bob');
insert into public.tasks (owner_id, title) values
  (tests.user_id('ada'), 'plan the week'),
  (tests.user_id('bob'), 'fix the bike');

select tests.authenticate_as('ada');
select results_eq('select title from public.tasks', $$values ('plan the week')$$, 'ada sees her task only');
select throws_ok(
  $$insert into public.tasks (owner_id, title) values (tests.user_id('bob'), 'forged')$$,
  '42501', null, 'ada cannot file a task for bob'
);

select * from finish();
rollback;
