-- Rollback of 20261205000600_phase3_one_policy_per_operation: every policy the
-- merge combined here comes back as it was, under its own name (from the
-- rules the merged policies carry, as Postgres printed them), the helpers
-- create one policy per rule again, and the single-column index on
-- equipment.primary_media_id returns. Roll back
-- 20261205000820 back to 20261205000610 first, as always newest first.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.users', 'public.equipment', 'public.equipment_media']::regclass[]) t;

drop function if exists private.policy_rule(regclass, text, text, text, text);
drop function if exists private.unmerge_policies(regclass);
drop function if exists private.merge_policies(regclass);
drop function if exists private.any_of(jsonb, text);
drop function if exists private.merged_policy_rules(regclass);

-- The helper as 20251111000000_phase3_policy_helpers defined it.
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

revoke all on function private.policy_role_based(regclass, text[], text[]) from public;

-- squawk-ignore require-concurrent-index-creation
create index if not exists equipment_primary_media_id_idx on public.equipment (primary_media_id);
