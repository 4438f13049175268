-- Phase 3: two of the access matrix's open questions, decided.
--
-- - insurance_documents: requested_info, info_requested_at and
--   info_provided_at are the information an admin asks a customer for (the
--   support header). A customer uploading their own document could set them
--   (no guard); now only admins and the service role set them on a new
--   document: a customer's insert that sets one is refused (42501).
-- - financial_exports: an export is requested in the requester's own name.
--   The restrictive policy held that on insert only; an admin could later
--   change requested_by to anyone. Now requested_by never changes once the
--   row exists, for every API role but the service role (it backfills).
--
-- Depends on: 20251111000500_phase3_payments (financial_exports),
-- 20251111000600_phase3_support (the insurance_documents columns),
-- 20251111000000_phase3_policy_helpers (private.current_app_role).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

create or replace function private.guard_insurance_document_requests()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  -- anon has no usage on schema private: look the role up for signed-in callers only.
  if current_user = 'authenticated' and coalesce(private.current_app_role(), '') in ('admin', 'super_admin') then
    return new;
  end if;
  if new.requested_info is not null or new.info_requested_at is not null or new.info_provided_at is not null then
    raise exception 'only admins ask for information on an insurance document'
      using errcode = '42501',
            hint = 'upload the document without requested_info, info_requested_at or info_provided_at';
  end if;
  return new;
end
$$;
revoke all on function private.guard_insurance_document_requests() from public, anon, authenticated, service_role;

create or replace trigger insurance_documents_guard_requests
  before insert on public.insurance_documents
  for each row execute function private.guard_insurance_document_requests();

create or replace function private.guard_financial_export_requester()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated') and new.requested_by is distinct from old.requested_by then
    raise exception 'a financial export stays in the name of whoever requested it'
      using errcode = '42501',
            hint = 'request a new export instead of changing requested_by';
  end if;
  return new;
end
$$;
revoke all on function private.guard_financial_export_requester() from public, anon, authenticated, service_role;

create or replace trigger financial_exports_guard_requester
  before update on public.financial_exports
  for each row execute function private.guard_financial_export_requester();
