-- Phase 3, dashboard & analytics: admin alerts, saved dashboard filters,
-- export requests, and five materialized views the admin dashboard reads.
--
-- Depends on: 20251101000000_baseline_platform (users, equipment, bookings,
-- payments, private.current_app_role()) and 20251111000000_phase3_policy_helpers.
--
-- Access:
-- - tables: admins (admin, super_admin) read and write; the service role only
--   reads (it bypasses RLS, so all its grants are revoked but select);
-- - materialized views have no RLS, so anon and authenticated get no grant on
--   them at all; admins read them through public.dashboard_*() SECURITY
--   DEFINER functions that check the app role; the service role selects them
--   directly;
-- - private.refresh_dashboard_views() refreshes every view CONCURRENTLY in
--   dependency order, one caller at a time (transaction-level advisory lock;
--   a second concurrent caller returns 'skipped' without refreshing).
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

create table if not exists public.alerts (
  id              uuid primary key default gen_random_uuid(),
  kind            text not null
                  constraint alerts_kind_check
                  check (kind in ('overdue_return', 'payment_failed', 'payment_overdue', 'idle_equipment', 'manual')),
  severity        text not null default 'warning'
                  constraint alerts_severity_check check (severity in ('info', 'warning', 'critical')),
  status          text not null default 'open'
                  constraint alerts_status_check check (status in ('open', 'acknowledged', 'resolved', 'dismissed')),
  title           text not null,
  details         jsonb not null default '{}'::jsonb
                  constraint alerts_details_check check (jsonb_typeof(details) = 'object'),
  booking_id      uuid constraint alerts_booking_id_fkey references public.bookings (id) on delete cascade,
  payment_id      uuid constraint alerts_payment_id_fkey references public.payments (id) on delete cascade,
  equipment_id    uuid constraint alerts_equipment_id_fkey references public.equipment (id) on delete cascade,
  acknowledged_by uuid constraint alerts_acknowledged_by_fkey references public.users (id) on delete set null,
  acknowledged_at timestamptz,
  resolved_by     uuid constraint alerts_resolved_by_fkey references public.users (id) on delete set null,
  resolved_at     timestamptz,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint alerts_single_subject_check check (num_nonnulls(booking_id, payment_id, equipment_id) <= 1)
);

create table if not exists public.dashboard_saved_filters (
  id         uuid primary key default gen_random_uuid(),
  admin_id   uuid not null
             constraint dashboard_saved_filters_admin_id_fkey references public.users (id) on delete cascade,
  name       text not null
             constraint dashboard_saved_filters_name_check check (length(btrim(name)) between 1 and 100),
  view_name  text not null
             constraint dashboard_saved_filters_view_name_check
             check (view_name in ('kpis', 'revenue_trends', 'booking_trends', 'equipment_utilization',
                                  'alert_candidates', 'alerts')),
  filters    jsonb not null default '{}'::jsonb
             constraint dashboard_saved_filters_filters_check check (jsonb_typeof(filters) = 'object'),
  is_default boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint dashboard_saved_filters_admin_id_name_key unique (admin_id, name)
);

create table if not exists public.dashboard_exports (
  id            uuid primary key default gen_random_uuid(),
  requested_by  uuid not null
                constraint dashboard_exports_requested_by_fkey references public.users (id) on delete cascade,
  view_name     text not null
                constraint dashboard_exports_view_name_check
                check (view_name in ('kpis', 'revenue_trends', 'booking_trends', 'equipment_utilization',
                                     'alert_candidates', 'alerts')),
  format        text not null default 'csv'
                constraint dashboard_exports_format_check check (format in ('csv', 'xlsx', 'json')),
  filters       jsonb not null default '{}'::jsonb
                constraint dashboard_exports_filters_check check (jsonb_typeof(filters) = 'object'),
  status        text not null default 'pending'
                constraint dashboard_exports_status_check
                check (status in ('pending', 'processing', 'completed', 'failed', 'expired')),
  storage_path  text,
  row_count     bigint constraint dashboard_exports_row_count_check check (row_count >= 0),
  error_message text,
  completed_at  timestamptz,
  expires_at    timestamptz,
  created_at    timestamptz not null default now(),
  constraint dashboard_exports_completed_check
    check (status <> 'completed' or (storage_path is not null and completed_at is not null))
);

-- Indexes ------------------------------------------------------------------

create index if not exists alerts_booking_id_idx on public.alerts (booking_id);
create index if not exists alerts_payment_id_idx on public.alerts (payment_id);
create index if not exists alerts_equipment_id_idx on public.alerts (equipment_id);
create index if not exists alerts_acknowledged_by_idx on public.alerts (acknowledged_by);
create index if not exists alerts_resolved_by_idx on public.alerts (resolved_by);
create index if not exists alerts_status_created_at_idx on public.alerts (status, created_at desc);
-- dashboard_saved_filters.admin_id: served by dashboard_saved_filters_admin_id_name_key (admin_id, name).
create index if not exists dashboard_exports_requested_by_idx on public.dashboard_exports (requested_by);
create index if not exists dashboard_exports_status_idx on public.dashboard_exports (status);

-- RLS policies -------------------------------------------------------------

select private.policy_admin_read_write('public.alerts');
select private.policy_admin_read_write('public.dashboard_saved_filters');
select private.policy_admin_read_write('public.dashboard_exports');

-- The service role reads the dashboard tables and holds nothing else on them
-- (no insert, update, delete, truncate, references or trigger).
revoke all on public.alerts, public.dashboard_saved_filters, public.dashboard_exports from service_role;
grant select on public.alerts, public.dashboard_saved_filters, public.dashboard_exports to service_role;

-- Data migrations ----------------------------------------------------------

-- None: the tables are new, and the views below are created with data.

-- Materialized views -------------------------------------------------------

-- Headline figures per currency (bookings and payments).
create materialized view if not exists public.mv_dashboard_kpis as
with currencies as (
  select b.currency from public.bookings b
  union
  select p.currency from public.payments p
),
booking_figures as (
  select b.currency,
         count(*)                                                        as bookings_total,
         count(*) filter (where b.status = 'pending')                    as bookings_pending,
         count(*) filter (where b.status in ('confirmed', 'active'))     as bookings_open,
         count(*) filter (where b.status = 'completed')                  as bookings_completed,
         count(*) filter (where b.status = 'cancelled')                  as bookings_cancelled,
         coalesce(sum(b.total_amount) filter (where b.status <> 'cancelled'), 0) as booked_value
    from public.bookings b
   group by b.currency
),
payment_figures as (
  select p.currency,
         coalesce(sum(p.amount) filter (where p.status = 'succeeded'), 0) as revenue_collected,
         coalesce(sum(p.amount) filter (where p.status = 'pending'), 0)   as payments_pending_amount,
         coalesce(sum(p.amount) filter (where p.status = 'refunded'), 0)  as refunded_amount,
         count(*) filter (where p.status = 'failed')                      as payments_failed
    from public.payments p
   group by p.currency
)
select c.currency,
       coalesce(bf.bookings_total, 0)          as bookings_total,
       coalesce(bf.bookings_pending, 0)        as bookings_pending,
       coalesce(bf.bookings_open, 0)           as bookings_open,
       coalesce(bf.bookings_completed, 0)      as bookings_completed,
       coalesce(bf.bookings_cancelled, 0)      as bookings_cancelled,
       coalesce(bf.booked_value, 0)            as booked_value,
       coalesce(pf.revenue_collected, 0)       as revenue_collected,
       coalesce(pf.payments_pending_amount, 0) as payments_pending_amount,
       coalesce(pf.refunded_amount, 0)         as refunded_amount,
       coalesce(pf.payments_failed, 0)         as payments_failed,
       now()                                   as refreshed_at
  from currencies c
  left join booking_figures bf on bf.currency = c.currency
  left join payment_figures pf on pf.currency = c.currency
with data;

-- Captured money per UTC day and currency (refunded payments count as captured, then refunded).
create materialized view if not exists public.mv_revenue_trends as
select (coalesce(p.paid_at, p.created_at) at time zone 'UTC')::date as day,
       p.currency,
       count(*)                                                           as payments_count,
       sum(p.amount)                                                      as gross_revenue,
       coalesce(sum(p.amount) filter (where p.status = 'refunded'), 0)    as refunded_amount,
       coalesce(sum(p.amount) filter (where p.status = 'succeeded'), 0)   as net_revenue
  from public.payments p
 where p.status in ('succeeded', 'refunded')
 group by 1, 2
with data;

-- New bookings per UTC day (of creation) and currency.
create materialized view if not exists public.mv_booking_trends as
select (b.created_at at time zone 'UTC')::date                                   as day,
       b.currency,
       count(*)                                                                  as bookings_created,
       count(*) filter (where b.status in ('confirmed', 'active', 'completed'))  as bookings_confirmed,
       count(*) filter (where b.status = 'cancelled')                            as bookings_cancelled,
       coalesce(sum(b.total_amount) filter (where b.status <> 'cancelled'), 0)   as booked_value,
       coalesce(sum(extract(epoch from b.ends_at - b.starts_at) / 86400)
                  filter (where b.status <> 'cancelled'), 0)::numeric(12, 2)     as rental_days
  from public.bookings b
 group by 1, 2
with data;

-- Per piece of equipment: bookings (not cancelled) and booked days over the last 30 days.
create materialized view if not exists public.mv_equipment_utilization as
with booked as (
  select b.equipment_id,
         b.starts_at,
         b.ends_at,
         greatest(0, extract(epoch from least(b.ends_at, now())
                                        - greatest(b.starts_at, now() - interval '30 days')) / 86400) as days_30d
    from public.bookings b
   where b.status <> 'cancelled'
)
select e.id                                                             as equipment_id,
       e.name,
       e.category,
       e.status,
       count(bk.equipment_id)                                           as bookings_total,
       coalesce(sum(bk.days_30d), 0)::numeric(8, 2)                     as booked_days_30d,
       least(1, coalesce(sum(bk.days_30d), 0) / 30)::numeric(5, 4)      as utilization_30d,
       max(bk.ends_at)                                                  as last_booked_until,
       min(bk.starts_at) filter (where bk.starts_at > now())            as next_booking_starts_at
  from public.equipment e
  left join booked bk on bk.equipment_id = e.id
 group by e.id
with data;

-- What deserves an alert now, one row per (kind, subject); has_open_alert says
-- whether an open or acknowledged alert already covers it. Reads
-- mv_equipment_utilization, so it is refreshed after it.
create materialized view if not exists public.mv_alert_candidates as
with candidates as (
  select 'overdue_return'::text as kind, b.id as subject_id,
         case when b.ends_at < now() - interval '2 days' then 'critical' else 'warning' end as severity,
         b.id as booking_id, null::uuid as payment_id, b.equipment_id,
         jsonb_build_object('ends_at', b.ends_at, 'customer_id', b.customer_id) as details
    from public.bookings b
   where b.status = 'active' and b.ends_at < now()
  union all
  select 'payment_failed', p.id, 'warning', p.booking_id, p.id, null::uuid,
         jsonb_build_object('amount', p.amount, 'currency', p.currency, 'customer_id', p.customer_id)
    from public.payments p
   where p.status = 'failed'
  union all
  select 'payment_overdue', b.id, 'warning', b.id, null::uuid, b.equipment_id,
         jsonb_build_object('starts_at', b.starts_at, 'total_amount', b.total_amount, 'currency', b.currency,
                            'customer_id', b.customer_id)
    from public.bookings b
   where b.status in ('confirmed', 'active')
     and b.starts_at < now() + interval '2 days'
     and not exists (select 1 from public.payments p where p.booking_id = b.id and p.status = 'succeeded')
  union all
  select 'idle_equipment', u.equipment_id, 'info', null::uuid, null::uuid, u.equipment_id,
         jsonb_build_object('last_booked_until', u.last_booked_until)
    from public.mv_equipment_utilization u
   where u.status = 'available' and u.booked_days_30d = 0 and u.next_booking_starts_at is null
)
select c.kind,
       c.subject_id,
       c.severity,
       c.booking_id,
       c.payment_id,
       c.equipment_id,
       c.details,
       exists (select 1 from public.alerts a
                where a.kind = c.kind
                  and a.status in ('open', 'acknowledged')
                  and c.subject_id in (a.booking_id, a.payment_id, a.equipment_id)) as has_open_alert,
       now() as detected_at
  from candidates c
with data;

-- Unique keys on plain columns, which REFRESH ... CONCURRENTLY needs.
-- squawk's require-concurrent-index-creation exempts tables created in the
-- same transaction but not materialized views; these views are created just
-- above in this transaction (so the build blocks no one), and CREATE INDEX
-- CONCURRENTLY cannot run in a transaction: each ignore below says so.
-- squawk-ignore require-concurrent-index-creation
create unique index if not exists mv_dashboard_kpis_currency_key on public.mv_dashboard_kpis (currency);
-- squawk-ignore require-concurrent-index-creation
create unique index if not exists mv_revenue_trends_day_currency_key on public.mv_revenue_trends (day, currency);
-- squawk-ignore require-concurrent-index-creation
create unique index if not exists mv_booking_trends_day_currency_key on public.mv_booking_trends (day, currency);
-- squawk-ignore require-concurrent-index-creation
create unique index if not exists mv_equipment_utilization_equipment_id_key
  on public.mv_equipment_utilization (equipment_id);
-- squawk-ignore require-concurrent-index-creation
create unique index if not exists mv_alert_candidates_kind_subject_id_key
  on public.mv_alert_candidates (kind, subject_id);

-- No RLS on materialized views: the API roles get no grant; the service role reads.
revoke all on public.mv_dashboard_kpis, public.mv_revenue_trends, public.mv_booking_trends,
              public.mv_equipment_utilization, public.mv_alert_candidates
  from public, anon, authenticated, service_role;
grant select on public.mv_dashboard_kpis, public.mv_revenue_trends, public.mv_booking_trends,
                public.mv_equipment_utilization, public.mv_alert_candidates
  to service_role;

-- Refreshes every view CONCURRENTLY (reads keep working), in dependency order:
-- mv_alert_candidates reads mv_equipment_utilization, so it comes last.
-- Returns 'refreshed', or 'skipped' when another call holds the lock (keyed
-- by this migration's version) in a transaction still running.
-- SECURITY DEFINER: REFRESH needs the views' owner.
create or replace function private.refresh_dashboard_views()
returns text
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not pg_catalog.pg_try_advisory_xact_lock(20251111000100) then
    return 'skipped';
  end if;
  refresh materialized view concurrently public.mv_dashboard_kpis;
  refresh materialized view concurrently public.mv_revenue_trends;
  refresh materialized view concurrently public.mv_booking_trends;
  refresh materialized view concurrently public.mv_equipment_utilization;
  refresh materialized view concurrently public.mv_alert_candidates;
  return 'refreshed';
end
$$;
revoke all on function private.refresh_dashboard_views() from public, anon, authenticated;
grant execute on function private.refresh_dashboard_views() to service_role;

-- Admins' checked paths to the views.
create or replace function public.dashboard_kpis()
returns setof public.mv_dashboard_kpis
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if coalesce((select private.current_app_role()), '') not in ('admin', 'super_admin') then
    raise exception 'dashboard data is for admins only' using errcode = 'insufficient_privilege';
  end if;
  return query select * from public.mv_dashboard_kpis order by currency;
end
$$;

create or replace function public.dashboard_revenue_trends()
returns setof public.mv_revenue_trends
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if coalesce((select private.current_app_role()), '') not in ('admin', 'super_admin') then
    raise exception 'dashboard data is for admins only' using errcode = 'insufficient_privilege';
  end if;
  return query select * from public.mv_revenue_trends order by day, currency;
end
$$;

create or replace function public.dashboard_booking_trends()
returns setof public.mv_booking_trends
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if coalesce((select private.current_app_role()), '') not in ('admin', 'super_admin') then
    raise exception 'dashboard data is for admins only' using errcode = 'insufficient_privilege';
  end if;
  return query select * from public.mv_booking_trends order by day, currency;
end
$$;

create or replace function public.dashboard_equipment_utilization()
returns setof public.mv_equipment_utilization
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if coalesce((select private.current_app_role()), '') not in ('admin', 'super_admin') then
    raise exception 'dashboard data is for admins only' using errcode = 'insufficient_privilege';
  end if;
  return query select * from public.mv_equipment_utilization order by equipment_id;
end
$$;

create or replace function public.dashboard_alert_candidates()
returns setof public.mv_alert_candidates
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if coalesce((select private.current_app_role()), '') not in ('admin', 'super_admin') then
    raise exception 'dashboard data is for admins only' using errcode = 'insufficient_privilege';
  end if;
  return query select * from public.mv_alert_candidates order by kind, subject_id;
end
$$;

revoke all on function public.dashboard_kpis() from public, anon, service_role;
revoke all on function public.dashboard_revenue_trends() from public, anon, service_role;
revoke all on function public.dashboard_booking_trends() from public, anon, service_role;
revoke all on function public.dashboard_equipment_utilization() from public, anon, service_role;
revoke all on function public.dashboard_alert_candidates() from public, anon, service_role;
grant execute on function public.dashboard_kpis() to authenticated;
grant execute on function public.dashboard_revenue_trends() to authenticated;
grant execute on function public.dashboard_booking_trends() to authenticated;
grant execute on function public.dashboard_equipment_utilization() to authenticated;
grant execute on function public.dashboard_alert_candidates() to authenticated;

-- Refresh once (the views exist with data, so CONCURRENTLY is allowed).
select private.refresh_dashboard_views();

-- Storage ------------------------------------------------------------------

-- None.
