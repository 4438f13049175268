-- Opening a room, as a signed-in user, with the project's test helpers.
begin;
create extension "acme-supabase_test_helpers" version '0.0.6';
select plan(3);

select tests.create_user('cleo');
select tests.authenticate_as('cleo');

select lives_ok(
  $$insert into public.rooms (name) values ('cleo''s room')$$,
  'a signed-in user opens a room'
);
select is((select count(*)::int from public.rooms), 0, 'nobody sees a room they are not a member of');
reset role;
select is(
  (select count(*)::int from net.http_request_queue where url = 'https://moderation.example.test/rooms'
      and headers ->> 'Authorization' = 'Bearer moderation-token-for-tests'),
  3,
  'every room (two seeded, one opened) was announced to moderation with the Vault token'
);

select * from finish();
rollback;
