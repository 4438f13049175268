-- A user known by a short name, for the duration of a test.
create function tests.create_user(identifier text) returns uuid
language sql security definer set search_path = ''
as $$
  insert into auth.users (id, email, aud, role, raw_app_meta_data)
  values (gen_random_uuid(), identifier || '@tests.local', 'authenticated', 'authenticated',
          jsonb_build_object('test_identifier', identifier))
  returning id
$$;

create function tests.user_id(identifier text) returns uuid
language sql stable security definer set search_path = ''
as $$
  select id from auth.users where raw_app_meta_data ->> 'test_identifier' = identifier
$$;

-- Act as that user for the rest of the transaction, as PostgREST would.
create function tests.authenticate_as(identifier text) returns void
language sql
as $$
  select set_config('request.jwt.claims',
                    json_build_object('sub', tests.user_id(identifier), 'role', 'authenticated')::text, true);
  select set_config('role', 'authenticated', true);
$$;

grant usage on schema tests to anon, authenticated;
grant execute on all functions in schema tests to anon, authenticated;
