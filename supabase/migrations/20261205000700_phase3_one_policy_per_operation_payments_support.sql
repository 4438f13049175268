-- Phase 3: one permissive policy per operation on the payments and support tables.
--
-- The second step of 20261205000600_phase3_one_policy_per_operation
-- (why, and how private.merge_policies decides exactly as the policies it
-- combines did): the tables the advisors warned about in this domain, in a
-- transaction of their own so that few tables are locked at once.
--
-- Depends on: 20261205000600_phase3_one_policy_per_operation
-- (private.merge_policies), and the files that made these tables' policies.
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

select private.merge_policies(t)
  from unnest(array['public.payments', 'public.installment_schedules', 'public.manual_payments',
                    'public.payout_reconciliations', 'public.financial_exports',
                    'public.financial_ledger', 'public.insurance_documents',
                    'public.support_tickets', 'public.support_messages']::regclass[]) t;
