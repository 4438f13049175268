-- Room changes reach the room's members only, and the bucket config.toml declares exists.
begin;
select plan(3);

select set_config('request.jwt.claims', '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated"}', true);
select set_config('realtime.topic', 'room:c0000000-0000-4000-8000-00000000000a', true);
set local role authenticated;
select ok((select count(*) from realtime.messages) > 0, 'ada receives the broadcasts of her room');
reset role;

select set_config('realtime.topic', 'room:c0000000-0000-4000-8000-00000000000b', true);
set local role authenticated;
select is((select count(*)::int from realtime.messages), 0, 'ada receives nothing from bob''s room');
reset role;

select results_eq(
  'select public, file_size_limit, allowed_mime_types from storage.buckets where id = ''avatars''',
  $$values (false, 1048576::bigint, array['image/png', 'image/jpeg'])$$,
  'the avatars bucket is made as config.toml declares it'
);

select * from finish();
rollback;
