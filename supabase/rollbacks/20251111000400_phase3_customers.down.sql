-- Rollback of 20251111000400_phase3_customers: drops the customer and
-- communication tables with their data, the CRM columns on users (risk score,
-- lifetime value, preferred contact method, account manager), and restores
-- the baseline's users guard (only the role rule).
create or replace function private.guard_user_privileged_columns()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated') and new.id is distinct from old.id then
    raise exception 'a user''s id cannot change'
      using errcode = '42501';
  end if;
  if current_user in ('anon', 'authenticated')
     and new.role is distinct from old.role
     and coalesce(private.current_app_role(), '') <> 'super_admin' then
    raise exception 'only a super admin can change a user''s role'
      using errcode = '42501';
  end if;
  return new;
end
$$;

drop table if exists
  public.campaign_audiences,
  public.customer_consent,
  public.customer_timeline_events,
  public.customer_notes,
  public.customer_tag_members,
  public.customer_tags;

alter table public.users
  drop column if exists account_manager_id,
  drop column if exists preferred_contact_method,
  drop column if exists lifetime_value_currency,
  drop column if exists lifetime_value,
  drop column if exists risk_score;
