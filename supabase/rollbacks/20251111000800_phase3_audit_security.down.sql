-- Rollback of 20251111000800_phase3_audit_security: drops the audit and
-- security tables (their rows are lost with them), the session-revoking
-- function, the two-factor, settings-approval and change-request guards and
-- the columns added to users and system_settings.
drop function if exists public.revoke_admin_session(uuid);
drop table if exists public.settings_change_requests;
drop function if exists private.guard_settings_change_request();
drop trigger if exists system_settings_guard_approval on public.system_settings;
drop function if exists private.guard_system_settings_approval();
drop table if exists public.secret_store;
drop table if exists public.admin_sessions;
drop table if exists public.admin_invites;
drop table if exists public.security_incidents;
drop table if exists public.audit_event_tags;
drop table if exists public.audit_events;
drop trigger if exists users_guard_two_factor on public.users;
drop function if exists private.guard_user_two_factor();
alter table public.system_settings drop column if exists validation_endpoint;
alter table public.system_settings drop column if exists requires_approval;
alter table public.users drop column if exists two_factor_enrolled_at;
alter table public.users drop column if exists two_factor_enabled;
