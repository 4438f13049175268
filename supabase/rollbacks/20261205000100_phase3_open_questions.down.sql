-- Rollback of 20261205000100_phase3_open_questions: the two guards gone, the
-- questions open again (customers may pre-fill requested information, admins
-- may move an export to someone else's name).

set local lock_timeout = '5s';

drop trigger if exists financial_exports_guard_requester on public.financial_exports;
drop function if exists private.guard_financial_export_requester();
drop trigger if exists insurance_documents_guard_requests on public.insurance_documents;
drop function if exists private.guard_insurance_document_requests();
