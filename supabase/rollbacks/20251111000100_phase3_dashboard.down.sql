-- Rollback of 20251111000100_phase3_dashboard: drops the dashboard functions,
-- materialized views and tables (alerts, saved filters and export requests
-- are lost with them; the views are derived data).
drop function if exists public.dashboard_alert_candidates();
drop function if exists public.dashboard_equipment_utilization();
drop function if exists public.dashboard_booking_trends();
drop function if exists public.dashboard_revenue_trends();
drop function if exists public.dashboard_kpis();
drop function if exists private.refresh_dashboard_views();
drop materialized view if exists public.mv_alert_candidates;
drop materialized view if exists public.mv_equipment_utilization;
drop materialized view if exists public.mv_booking_trends;
drop materialized view if exists public.mv_revenue_trends;
drop materialized view if exists public.mv_dashboard_kpis;
drop table if exists public.dashboard_exports;
drop table if exists public.dashboard_saved_filters;
drop table if exists public.alerts;
