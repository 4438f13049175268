-- Rollback of 20261205000200_phase3_finance_and_staff: finance reads only its
-- own payments again (the two decisions without a policy change leave nothing
-- to undo).

set local lock_timeout = '5s';

drop policy if exists payments_select_finance on public.payments;
