-- Phase 3: three more of the access matrix's open questions, decided.
--
-- - payments: finance reconciles provider payouts against the payments they
--   contain (payments.payout_id), so finance reads every payment. It writes
--   none: payments are recorded by admins and the service role.
-- - payout_reconciliations: finance reads, records and corrects them but
--   never deletes one. A reconciliation is the record that a payout was
--   checked; a wrong one is corrected (status, notes), as a posted ledger leg
--   is reversed rather than rewritten. Admins may delete (a duplicate import).
--   No policy changes: finance has no delete policy, by decision.
-- - Staff roles (finance, marketing, security, pricing_service) act on their
--   own bookings, payments, tickets, documents, contracts and consent as any
--   customer does: staff rent equipment too, and the own-row policies test
--   auth.uid() on purpose. What staff may do beyond their own rows is what
--   their role's policies say. No policy changes, by decision.
--
-- Depends on: 20251101000000_baseline_platform (payments),
-- 20251111000000_phase3_policy_helpers (private.current_app_role).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

drop policy if exists payments_select_finance on public.payments;
create policy payments_select_finance on public.payments
  for select to authenticated
  using ((select private.current_app_role()) = 'finance');
