-- Two users (their profiles come from the auth trigger), a room each, and one shared member.
insert into auth.users (id, email, aud, role, raw_user_meta_data) values
  ('a0000000-0000-4000-8000-000000000001', 'ada@chat.test', 'authenticated', 'authenticated', '{"username": "ada"}'),
  ('b0000000-0000-4000-8000-000000000002', 'bob@chat.test', 'authenticated', 'authenticated', '{"username": "bob"}');

insert into public.rooms (id, name, created_by) values
  ('c0000000-0000-4000-8000-00000000000a', 'ada''s room', 'a0000000-0000-4000-8000-000000000001'),
  ('c0000000-0000-4000-8000-00000000000b', 'bob''s room', 'b0000000-0000-4000-8000-000000000002');

insert into public.room_members (room_id, user_id) values
  ('c0000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-000000000001'),
  ('c0000000-0000-4000-8000-00000000000b', 'b0000000-0000-4000-8000-000000000002');
