-- Phase 3: one permissive policy per table and operation, every foreign key indexed.
--
-- Supabase's advisors warned 70 times (multiple_permissive_policies): a table
-- with several permissive policies for `authenticated` and one operation makes
-- Postgres evaluate each of them for every row a signed-in user's query reads.
-- Permissive policies combine by OR (the USING expressions with each other,
-- the WITH CHECK expressions with each other), so one policy whose USING is the
-- OR of theirs, and whose WITH CHECK is the OR of theirs, decides exactly as
-- they did: the access matrix and every domain test hold unchanged.
--
-- How: private.merge_policies(table) builds one policy per operation, named
-- <table>_<operation>, from the table's rules: the other permissive policies
-- for `authenticated` it finds (which it drops), and the rules the merged
-- policies already carry. Each merged policy keeps its rules (name, command,
-- USING, WITH CHECK) as JSON in its comment, so the rules live with the policy
-- they make: no table to keep in step, and a rollback can bring every policy
-- back as it was. policy_role_based and policy_admin_read_write (the
-- blueprint's names, same arguments) add their rules and merge;
-- private.policy_rule adds any other rule (an own-row condition). A rule added
-- again under its name replaces itself, so every file can run twice.
-- Restrictive policies stay as they are (they AND, and no lint counts them).
--
-- Only the 29 tables the advisors warned about are merged, 3 here and the rest
-- in the nine files after this one; the helpers merge every table they are
-- used on.
--
-- Indexes: the two foreign keys no index covered (equipment's primary medium,
-- a contract template's current version) got one concurrently in
-- 20261205000580 and 20261205000590; the index the first makes redundant
-- goes here.
--
-- Depends on: every earlier Phase 3 file (the policies it merges),
-- 20251111000000_phase3_policy_helpers (the helpers it redefines).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

-- The rules the merged policies of `target` carry in their comments, by name.
create or replace function private.merged_policy_rules(target regclass)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(rule ->> 'name', rule), '{}')
    from pg_catalog.pg_policy p
    join pg_catalog.pg_description d on d.objoid = p.oid and d.classoid = 'pg_catalog.pg_policy'::regclass
   cross join jsonb_array_elements(case when d.description like 'Merged by private.merge_policies from: [%'
                                        then substr(d.description, strpos(d.description, '['))::jsonb
                                        else '[]' end) rule
   where p.polrelid = target
$$;

-- One permissive policy per operation for `authenticated` on `target`.
create or replace function private.merge_policies(target regclass)
returns void
language plpgsql
set search_path = ''
as $$
declare
  bare_name text := (select c.relname from pg_catalog.pg_class c where c.oid = target);
  rules jsonb := private.merged_policy_rules(target);
  found_policy record;
  operation text;
  merged_name text;
  chosen jsonb;
begin
  -- Every permissive policy for exactly `authenticated` that this function did not build becomes a rule.
  for found_policy in
    select p.polname,
           case p.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                         when 'd' then 'delete' else 'all' end as command,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using_expr,
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as check_expr
      from pg_catalog.pg_policy p
     where p.polrelid = target and p.polpermissive
       and p.polroles = array[(select r.oid from pg_catalog.pg_roles r where r.rolname = 'authenticated')]
       and p.polname not in (bare_name || '_select', bare_name || '_insert', bare_name || '_update',
                             bare_name || '_delete')
  loop
    rules := rules || jsonb_build_object(found_policy.polname, jsonb_build_object(
      'name', found_policy.polname, 'command', found_policy.command,
      'using', found_policy.using_expr, 'check', found_policy.check_expr));
    execute format('drop policy %I on %s', found_policy.polname, target);
  end loop;

  foreach operation in array array['select', 'insert', 'update', 'delete'] loop
    merged_name := left(bare_name || '_' || operation, 63);
    select jsonb_agg(r.rule order by r.rule ->> 'name') into chosen
      from jsonb_each(rules) r (name, rule)
     where r.rule ->> 'command' in (operation, 'all');
    execute format('drop policy if exists %I on %s', merged_name, target);
    continue when chosen is null;
    execute format(
      'create policy %I on %s for %s to authenticated %s', merged_name, target, operation,
      case operation
        when 'insert' then format('with check (%s)', private.any_of(chosen, 'check'))
        when 'update' then format('using (%s) with check (%s)', private.any_of(chosen, 'using'),
                                  private.any_of(chosen, 'check'))
        else format('using (%s)', private.any_of(chosen, 'using'))
      end);
    execute format('comment on policy %I on %s is %L', merged_name, target,
                   'Merged by private.merge_policies from: ' || chosen::text);
  end loop;
end
$$;

-- `(a) or (b) ...` of the rules' USING (or WITH CHECK, which defaults to USING as in Postgres).
create or replace function private.any_of(rules jsonb, clause text)
returns text
language sql
immutable
set search_path = ''
as $$
  select string_agg('(' || case when clause = 'check' then coalesce(r ->> 'check', r ->> 'using')
                                else r ->> 'using' end || ')', ' or ' order by r ->> 'name')
    from jsonb_array_elements(rules) r
$$;

-- The policies of a table back as separate ones, from the rules its merged
-- policies carry: what the rollback of a file that merged the table needs.
create or replace function private.unmerge_policies(target regclass)
returns void
language plpgsql
set search_path = ''
as $$
declare
  bare_name text := (select c.relname from pg_catalog.pg_class c where c.oid = target);
  rules jsonb := private.merged_policy_rules(target);
  rule jsonb;
  operation text;
begin
  foreach operation in array array['select', 'insert', 'update', 'delete'] loop
    execute format('drop policy if exists %I on %s', left(bare_name || '_' || operation, 63), target);
  end loop;
  for rule in select r.value from jsonb_each(rules) r order by r.key loop
    execute format('create policy %I on %s for %s to authenticated%s%s', rule ->> 'name', target,
                   rule ->> 'command',
                   case when rule ->> 'using' is not null then format(' using (%s)', rule ->> 'using') end,
                   case when rule ->> 'check' is not null then format(' with check (%s)', rule ->> 'check') end);
  end loop;
end
$$;

-- Adds one rule (replacing a rule of that name) to the table's policies.
create or replace function private.policy_rule(
  target regclass,
  rule_name text,
  command text,
  using_expr text,
  check_expr text default null
)
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('alter table %s enable row level security', target);
  execute format('drop policy if exists %I on %s', rule_name, target);
  execute format('create policy %I on %s for %s to authenticated%s%s', rule_name, target, command,
                 case when using_expr is not null then format(' using (%s)', using_expr) end,
                 case when check_expr is not null then format(' with check (%s)', check_expr) end);
  perform private.merge_policies(target);
end
$$;

-- The blueprint's helper, same arguments and rule names as before; one policy per operation now.
create or replace function private.policy_role_based(
  target regclass,
  allowed_roles text[],
  operations text[] default array['select', 'insert', 'update', 'delete']
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  operation text;
  allowed text := format('(select private.current_app_role()) = any (%L::text[])', allowed_roles);
begin
  if allowed_roles is null or cardinality(allowed_roles) = 0 then
    raise exception 'policy_role_based(%): allowed_roles must name at least one app role', target;
  end if;
  foreach operation in array operations loop
    if operation not in ('select', 'insert', 'update', 'delete') then
      raise exception 'policy_role_based(%): unknown operation %', target, operation;
    end if;
    perform private.policy_rule(target, left(array_to_string(allowed_roles, '_') || '_' || operation, 63),
                                operation,
                                case when operation <> 'insert' then allowed end,
                                case when operation in ('insert', 'update') then allowed end);
  end loop;
end
$$;

revoke all on function private.merged_policy_rules(regclass) from public, anon, authenticated, service_role;
revoke all on function private.merge_policies(regclass) from public, anon, authenticated, service_role;
revoke all on function private.any_of(jsonb, text) from public, anon, authenticated, service_role;
revoke all on function private.unmerge_policies(regclass) from public, anon, authenticated, service_role;
revoke all on function private.policy_rule(regclass, text, text, text, text) from public, anon, authenticated,
  service_role;

-- Covered since 20261205000580 by equipment_primary_media_id_id_idx (its
-- leading column). Dropped just before the merge below, which locks
-- equipment the same way: DROP INDEX CONCURRENTLY cannot run in this file's
-- transaction, and here it adds no lock the merge does not take.
-- squawk-ignore require-concurrent-index-deletion
drop index if exists public.equipment_primary_media_id_idx;

-- Where the advisors warned (29 tables), merged three tables at a time: each
-- table merged stays locked (ACCESS EXCLUSIVE, briefly) until its file
-- commits, and every lock a file waits for keeps the API waiting on the ones
-- it already holds (one file of 56 tables kept readers waiting over a second
-- under load; nine of 9–11 still did). Here users and equipment; the other
-- tables in 20261205000610 to 20261205000820, one domain after the other.
select private.merge_policies(t)
  from unnest(array['public.users', 'public.equipment', 'public.equipment_media']::regclass[]) t;
