-- A test double of Supabase's pg_net with its SQL surface: the request functions take pg_net's arguments
-- and defaults and return a request id, but nothing is sent. Each request waits in
-- net.http_request_queue, where a test reads it; a test that needs an answer writes one to
-- net._http_response under the request's id, as pg_net's worker would.
create schema net;

create unlogged table net.http_request_queue (
  id                   bigserial primary key,
  method               text not null,
  url                  text not null,
  headers              jsonb not null,
  body                 bytea,
  timeout_milliseconds integer not null
);

create unlogged table net._http_response (
  id           bigint,
  status_code  integer,
  content_type text,
  headers      jsonb,
  content      text,
  timed_out    boolean,
  error_msg    text,
  created      timestamptz not null default now()
);

-- The url with params appended as a query string, as pg_net builds it.
create function net._with_params(url text, params jsonb) returns text
language sql immutable
as $$
  select url || coalesce(
    (select case when url like '%?%' then '&' else '?' end
            || string_agg(format('%s=%s', key, value), '&' order by key)
       from jsonb_each_text(params)),
    '')
$$;

-- Every request function queues its request here and returns its id.
create function net._queue(method text, url text, headers jsonb, body bytea, timeout_milliseconds integer)
returns bigint
language sql volatile
as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values (method, url, headers, body, timeout_milliseconds)
  returning id
$$;

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile
as $$ select net._queue('GET', net._with_params(url, params), headers, null, timeout_milliseconds) $$;

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile
as $$
  select net._queue('POST', net._with_params(url, params), headers, convert_to(body::text, 'UTF8'),
                    timeout_milliseconds)
$$;

create function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint
language sql volatile
as $$ select net._queue('DELETE', net._with_params(url, params), headers, null, timeout_milliseconds) $$;

grant usage on schema net to postgres, anon, authenticated, service_role;
grant all on net.http_request_queue, net._http_response to postgres, service_role;
grant usage on sequence net.http_request_queue_id_seq to postgres, anon, authenticated, service_role;
grant insert on net.http_request_queue to anon, authenticated;
revoke execute on all functions in schema net from public;
grant execute on all functions in schema net to postgres, anon, authenticated, service_role;
