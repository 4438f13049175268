-- Phase 3: one permissive policy per operation on the insurance and support tables.
--
-- A step of 20261205000600_phase3_one_policy_per_operation (why, and how
-- private.merge_policies decides exactly as the policies it combines did):
-- a few of the tables the advisors warned about, in a transaction of their
-- own. Each table merged stays locked (ACCESS EXCLUSIVE, briefly) until the
-- file commits, and each lock the file waits for keeps the API waiting on
-- those it already holds, so no file merges more than three.
--
-- Depends on: 20261205000600_phase3_one_policy_per_operation
-- (private.merge_policies), and the files that made these tables' policies.
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

select private.merge_policies(t)
  from unnest(array['public.insurance_documents', 'public.support_tickets', 'public.support_messages']::regclass[]) t;
