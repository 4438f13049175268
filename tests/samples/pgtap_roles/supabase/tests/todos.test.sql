-- Each user sees and writes only their own todos, checked as the signed-in user.
begin;
select plan(4);

insert into public.todos (owner_id, title) values
  ('11111111-1111-4111-8111-111111111111', 'water the plants'),
  ('22222222-2222-4222-8222-222222222222', 'call the plumber');

select set_config('request.jwt.claims', '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}', true);
set local role authenticated;

select is((select count(*)::int from public.todos), 1, 'a user sees one todo: their own');
select results_eq(
  'select title from public.todos',
  $$values ('water the plants')$$,
  'the todo seen is theirs'
);
select throws_ok(
  $$insert into public.todos (owner_id, title) values ('22222222-2222-4222-8222-222222222222', 'forged')$$,
  '42501',
  null,
  'nobody writes a todo for someone else'
);
select lives_ok(
  $$insert into public.todos (title) values ('buy bread')$$,
  'a user adds a todo of their own'
);

select * from finish();
rollback;
