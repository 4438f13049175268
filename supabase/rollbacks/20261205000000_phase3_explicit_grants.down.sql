-- Rollback of 20261205000000_phase3_explicit_grants: the tables granted to no
-- API role again, as the earlier files leave them on a project created under
-- today's Supabase defaults.
--
-- On a project that still has the old default privileges (postgres's default
-- ACL in public grants tables to authenticated) the tables had these grants
-- before the migration ran, and it changed nothing: there the rollback
-- leaves them, rather than take the API away from every signed-in user.

set local lock_timeout = '5s';

do $$
begin
  if exists (
    select 1
      from pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) a
     where d.defaclrole = 'postgres'::regrole
       and d.defaclnamespace = 'public'::regnamespace
       and d.defaclobjtype = 'r'
       and a.grantee = 'authenticated'::regrole
  ) then
    raise notice 'old default privileges in public: the grants predate the migration, left in place';
    return;
  end if;

  revoke select, insert, update, delete on table
    public.admin_invites, public.alerts, public.audit_event_tags, public.booking_bulk_operations,
    public.booking_conflicts, public.booking_notes, public.booking_wizard_sessions, public.bookings,
    public.campaign_audiences, public.contract_events, public.contract_reminders, public.contract_signers,
    public.contract_template_versions, public.contract_templates, public.contracts, public.customer_consent,
    public.customer_notes, public.customer_tag_members, public.customer_tags, public.customer_timeline_events,
    public.dashboard_exports, public.dashboard_saved_filters, public.delivery_assignments, public.equipment,
    public.equipment_media, public.financial_exports, public.installment_schedules, public.insurance_activity,
    public.insurance_documents, public.insurance_reminders, public.logistics_tasks, public.maintenance_alerts,
    public.maintenance_logs, public.maintenance_parts, public.manual_payments, public.payments,
    public.payout_reconciliations, public.pickup_checklists, public.promo_analytics_daily,
    public.promo_redemptions, public.promo_rule_actions, public.promo_rule_conditions,
    public.promo_rule_segments, public.promo_rules, public.secret_store, public.security_incidents,
    public.settings_change_requests, public.support_message_recipients, public.support_messages,
    public.support_sla, public.support_templates, public.support_tickets, public.system_settings, public.users
    from authenticated;

  revoke select, insert on table
    public.audit_events, public.financial_ledger
    from authenticated;

  revoke select on table
    public.admin_sessions, public.telematics_snapshots
    from authenticated;

  revoke select, insert, update, delete on table
    public.admin_invites, public.admin_sessions, public.audit_event_tags, public.booking_bulk_operations,
    public.booking_conflicts, public.booking_notes, public.booking_wizard_sessions, public.bookings,
    public.campaign_audiences, public.contract_events, public.contract_reminders, public.contract_signers,
    public.contract_template_versions, public.contract_templates, public.contracts, public.customer_consent,
    public.customer_notes, public.customer_tag_members, public.customer_tags, public.customer_timeline_events,
    public.delivery_assignments, public.equipment, public.equipment_media, public.financial_exports,
    public.installment_schedules, public.insurance_activity, public.insurance_documents,
    public.insurance_reminders, public.logistics_tasks, public.maintenance_alerts, public.maintenance_logs,
    public.maintenance_parts, public.manual_payments, public.payments, public.payout_reconciliations,
    public.pickup_checklists, public.promo_analytics_daily, public.promo_redemptions,
    public.promo_rule_actions, public.promo_rule_conditions, public.promo_rule_segments, public.promo_rules,
    public.secret_store, public.security_incidents, public.settings_change_requests,
    public.support_message_recipients, public.support_messages, public.support_sla, public.support_templates,
    public.support_tickets, public.system_settings, public.telematics_snapshots, public.users
    from service_role;

  revoke select, insert on table
    public.audit_events, public.financial_ledger
    from service_role;
end $$;
