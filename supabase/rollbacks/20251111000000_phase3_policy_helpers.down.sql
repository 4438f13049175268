-- Rollback of 20251111000000_phase3_policy_helpers: the helpers only; the
-- policies they created belong to (and are dropped by) the domain rollbacks.
drop function if exists private.policy_admin_read_write(regclass);
drop function if exists private.policy_role_based(regclass, text[], text[]);
