-- Phase 3, step 0: shared policy helpers every domain migration uses.
--
-- private.policy_role_based(table, roles, operations) (re)creates one policy
-- per operation that lets the listed app roles through, and enables RLS on the
-- table. private.policy_admin_read_write(table) is the same for admin and
-- super_admin. Policies compare `(select private.current_app_role())` (the
-- baseline's SECURITY DEFINER lookup, search_path '' and stable), so Postgres
-- evaluates the lookup once per statement, not once per row.
--
-- Depends on: 20251101000000_baseline_platform (private.current_app_role()).
--
-- The helpers are for migrations: nobody else may execute them, and they are
-- SECURITY INVOKER, so they can only do what the migrating role can.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

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
  policy_name text;
  allowed text := format('(select private.current_app_role()) = any (%L::text[])', allowed_roles);
begin
  if allowed_roles is null or cardinality(allowed_roles) = 0 then
    raise exception 'policy_role_based(%): allowed_roles must name at least one app role', target;
  end if;
  execute format('alter table %s enable row level security', target);
  foreach operation in array operations loop
    policy_name := left(array_to_string(allowed_roles, '_') || '_' || operation, 63);
    execute format('drop policy if exists %I on %s', policy_name, target);
    case operation
      when 'select', 'delete' then
        execute format('create policy %I on %s for %s to authenticated using (%s)',
                       policy_name, target, operation, allowed);
      when 'insert' then
        execute format('create policy %I on %s for insert to authenticated with check (%s)',
                       policy_name, target, allowed);
      when 'update' then
        execute format('create policy %I on %s for update to authenticated using (%s) with check (%s)',
                       policy_name, target, allowed, allowed);
      else
        raise exception 'policy_role_based(%): unknown operation %', target, operation;
    end case;
  end loop;
end
$$;

create or replace function private.policy_admin_read_write(target regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.policy_role_based(target, array['admin', 'super_admin']);
end
$$;

revoke all on function private.policy_role_based(regclass, text[], text[]) from public;
revoke all on function private.policy_admin_read_write(regclass) from public;
