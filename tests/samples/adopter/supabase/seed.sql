insert into auth.users (id, email, raw_user_meta_data)
values
  ('7a1c1f55-0c43-4c55-9d0b-6a3b1a000001', 'ada@example.com', '{"username": "ada"}'),
  ('7a1c1f55-0c43-4c55-9d0b-6a3b1a000002', 'grace@example.com', '{"username": "grace"}');

insert into public.todos (owner_id, title, done)
values
  ('7a1c1f55-0c43-4c55-9d0b-6a3b1a000001', 'Write the spec', false),
  ('7a1c1f55-0c43-4c55-9d0b-6a3b1a000002', 'Review the spec', true);
