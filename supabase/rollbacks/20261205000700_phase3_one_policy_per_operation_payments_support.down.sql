-- Rollback of 20261205000700_phase3_one_policy_per_operation_payments_support:
-- the payments and support tables'
-- policies back as they were before the merge, each under its own name.

set local lock_timeout = '5s';

select private.unmerge_policies(t)
  from unnest(array['public.payments', 'public.installment_schedules', 'public.manual_payments',
                    'public.payout_reconciliations', 'public.financial_exports',
                    'public.financial_ledger', 'public.insurance_documents',
                    'public.support_tickets', 'public.support_messages']::regclass[]) t;
