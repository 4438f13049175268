-- Rollback of 20261205000400_phase3_maintained_values: lifetime values and SLA
-- due dates are set once again (on backfill and on insert) and drift from then
-- on; the values they hold now stay. Stop the scheduled
-- private.mark_sla_breaches() job first (docs/runbook.md), or it fails.

set local lock_timeout = '5s';

drop function if exists private.mark_sla_breaches();
drop trigger if exists support_tickets_follow_priority on public.support_tickets;
drop function if exists private.follow_support_ticket_priority();

drop trigger if exists users_guard_lifetime_value on public.users;
drop function if exists private.guard_user_lifetime_value();
drop trigger if exists users_recompute_lifetime_value on public.users;
drop function if exists private.recompute_user_lifetime_value();
drop trigger if exists payments_recompute_lifetime_values on public.payments;
drop function if exists private.recompute_lifetime_values_of_payment();
drop function if exists private.lifetime_value_of(uuid, text);
