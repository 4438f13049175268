-- Phase 3: equipment media, maintenance and telematics.
--
-- Photos and videos of each machine (rows in equipment_media, files in the
-- private `equipment-media` storage bucket), maintenance history with the parts
-- used, telematics snapshots ingested by the service role, and maintenance
-- alerts. Equipment gains a primary photo, its engine hours, the time of its
-- last telematics reading and a maintenance status.
--
-- Who sees what: signed-in users see equipment media (the catalogue shows the
-- photos); maintenance tables are for admins only; telematics snapshots are
-- read by admins and written only by the service role's ingestion (it bypasses
-- RLS; no app role has a write policy or grant). Anon sees nothing. A
-- machine's position lives only in telematics_snapshots, never on equipment:
-- every signed-in user reads every equipment column.
--
-- Depends on: 20251101000000_baseline_platform (equipment, users,
-- private.current_app_role()), 20251111000000_phase3_policy_helpers.
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

create table if not exists public.equipment_media (
  id           uuid primary key default gen_random_uuid(),
  equipment_id uuid not null
               constraint equipment_media_equipment_id_fkey references public.equipment (id) on delete cascade,
  -- Object name inside the equipment-media bucket, e.g. '<equipment id>/front.jpg'.
  storage_path text not null constraint equipment_media_storage_path_key unique,
  media_type   text not null
               constraint equipment_media_media_type_check check (media_type in ('image', 'video')),
  caption      text,
  sort_order   bigint not null default 0 constraint equipment_media_sort_order_check check (sort_order >= 0),
  uploaded_by  uuid constraint equipment_media_uploaded_by_fkey references public.users (id) on delete set null,
  created_at   timestamptz not null default now(),
  -- Target of equipment's (primary_media_id, id) foreign key: the primary
  -- photo must be one of the machine's own media.
  constraint equipment_media_id_equipment_id_key unique (id, equipment_id)
);

create table if not exists public.maintenance_logs (
  id           uuid primary key default gen_random_uuid(),
  equipment_id uuid not null constraint maintenance_logs_equipment_id_fkey references public.equipment (id),
  kind         text not null
               constraint maintenance_logs_kind_check
               check (kind in ('preventive', 'corrective', 'inspection', 'repair')),
  summary      text not null,
  notes        text,
  vendor       text,
  performed_by uuid constraint maintenance_logs_performed_by_fkey references public.users (id) on delete set null,
  performed_at timestamptz not null default now(),
  engine_hours numeric(10, 1) constraint maintenance_logs_engine_hours_check check (engine_hours >= 0),
  labor_cost   numeric(12, 2) not null default 0 constraint maintenance_logs_labor_cost_check check (labor_cost >= 0),
  currency     text not null default 'USD'
               constraint maintenance_logs_currency_check check (currency ~ '^[A-Z]{3}$'),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

create table if not exists public.maintenance_parts (
  id                 uuid primary key default gen_random_uuid(),
  maintenance_log_id uuid not null
                     constraint maintenance_parts_maintenance_log_id_fkey
                     references public.maintenance_logs (id) on delete cascade,
  part_number        text not null,
  description        text,
  quantity           numeric(10, 2) not null default 1 constraint maintenance_parts_quantity_check check (quantity > 0),
  unit_cost          numeric(12, 2) not null
                     constraint maintenance_parts_unit_cost_check check (unit_cost >= 0),
  currency           text not null default 'USD'
                     constraint maintenance_parts_currency_check check (currency ~ '^[A-Z]{3}$'),
  created_at         timestamptz not null default now()
);

create table if not exists public.telematics_snapshots (
  id              uuid primary key default gen_random_uuid(),
  equipment_id    uuid not null
                  constraint telematics_snapshots_equipment_id_fkey
                  references public.equipment (id) on delete cascade,
  recorded_at     timestamptz not null,
  latitude        numeric(9, 6)
                  constraint telematics_snapshots_latitude_check check (latitude between -90 and 90),
  longitude       numeric(9, 6)
                  constraint telematics_snapshots_longitude_check check (longitude between -180 and 180),
  engine_hours    numeric(10, 1) constraint telematics_snapshots_engine_hours_check check (engine_hours >= 0),
  fuel_level_pct  numeric(5, 2)
                  constraint telematics_snapshots_fuel_level_pct_check check (fuel_level_pct between 0 and 100),
  fault_codes     text[] not null default '{}',
  payload         jsonb not null default '{}',
  received_at     timestamptz not null default now(),
  -- A device resending a reading does not duplicate it.
  constraint telematics_snapshots_equipment_recorded_key unique (equipment_id, recorded_at)
);

create table if not exists public.maintenance_alerts (
  id                 uuid primary key default gen_random_uuid(),
  equipment_id       uuid not null
                     constraint maintenance_alerts_equipment_id_fkey references public.equipment (id),
  alert_type         text not null
                     constraint maintenance_alerts_alert_type_check
                     check (alert_type in ('engine_hours', 'calendar', 'inspection_due', 'telematics_fault')),
  severity           text not null default 'warning'
                     constraint maintenance_alerts_severity_check check (severity in ('info', 'warning', 'critical')),
  status             text not null default 'open'
                     constraint maintenance_alerts_status_check check (status in ('open', 'acknowledged', 'resolved')),
  message            text not null,
  due_at             timestamptz,
  acknowledged_by    uuid
                     constraint maintenance_alerts_acknowledged_by_fkey
                     references public.users (id) on delete set null,
  acknowledged_at    timestamptz,
  resolved_at        timestamptz,
  -- The maintenance that resolved the alert.
  maintenance_log_id uuid
                     constraint maintenance_alerts_maintenance_log_id_fkey
                     references public.maintenance_logs (id) on delete set null,
  created_at         timestamptz not null default now(),
  constraint maintenance_alerts_resolved_at_check check ((status = 'resolved') = (resolved_at is not null))
);

-- Equipment: primary photo, engine hours, time of the last telematics reading,
-- maintenance status. No position column: the baseline lets every signed-in
-- user read every equipment column, so the last known position is read from
-- telematics_snapshots (admins only).
alter table public.equipment add column if not exists primary_media_id uuid;
alter table public.equipment
  add column if not exists total_engine_hours numeric(10, 1) not null default 0
  constraint equipment_total_engine_hours_check check (total_engine_hours >= 0);
alter table public.equipment add column if not exists last_telematics_at timestamptz;
-- maintenance_status arrives without its default and NOT NULL: the backfill
-- below fills exactly the rows that predate it (NULL), then both are set.
alter table public.equipment
  add column if not exists maintenance_status text
  constraint equipment_maintenance_status_check
  check (maintenance_status in ('ok', 'due', 'overdue', 'in_service', 'out_of_service'));

-- The primary photo is one of this machine's media; deleting that media row
-- clears primary_media_id only (PostgreSQL 15 column list), not equipment.id.
-- Added fully validated: primary_media_id is new and NULL on every row, and
-- the ADD COLUMN above already holds equipment's ACCESS EXCLUSIVE lock until
-- commit, so NOT VALID + a later VALIDATE would spare no lock and no scan.
do $fk$
begin
  if not exists (select from pg_catalog.pg_constraint
                 where conrelid = 'public.equipment'::regclass and conname = 'equipment_primary_media_id_fkey') then
    alter table public.equipment
      add constraint equipment_primary_media_id_fkey
      foreign key (primary_media_id, id) references public.equipment_media (id, equipment_id)
      on delete set null (primary_media_id);
  end if;
end
$fk$;

-- Indexes ------------------------------------------------------------------

create index if not exists equipment_media_equipment_id_idx on public.equipment_media (equipment_id, sort_order);
create index if not exists equipment_media_uploaded_by_idx on public.equipment_media (uploaded_by);

create index if not exists maintenance_logs_equipment_performed_at_idx
  on public.maintenance_logs (equipment_id, performed_at);
create index if not exists maintenance_logs_performed_by_idx on public.maintenance_logs (performed_by);

create index if not exists maintenance_parts_maintenance_log_id_idx on public.maintenance_parts (maintenance_log_id);

-- telematics_snapshots (equipment_id, recorded_at) is indexed by its unique constraint.

create index if not exists maintenance_alerts_equipment_id_idx on public.maintenance_alerts (equipment_id, created_at);
create index if not exists maintenance_alerts_acknowledged_by_idx on public.maintenance_alerts (acknowledged_by);
create index if not exists maintenance_alerts_maintenance_log_id_idx on public.maintenance_alerts (maintenance_log_id);
-- At most one unresolved alert per machine and kind, so alert generators can upsert.
create unique index if not exists maintenance_alerts_one_unresolved_key
  on public.maintenance_alerts (equipment_id, alert_type) where status <> 'resolved';

-- equipment is an existing table: squawk asks for CREATE INDEX CONCURRENTLY,
-- which cannot run inside this file's transaction (supabase db push and our
-- runner both wrap each file in one). A plain build costs no extra blocking
-- here: the ADD COLUMN above already holds equipment's ACCESS EXCLUSIVE lock
-- until commit, and the indexed column is NULL on every existing row.
-- squawk-ignore require-concurrent-index-creation
create index if not exists equipment_primary_media_id_idx on public.equipment (primary_media_id);

-- RLS policies -------------------------------------------------------------

-- equipment_media: admins manage; every signed-in user reads (catalogue photos).
select private.policy_admin_read_write('public.equipment_media');
drop policy if exists equipment_media_select_signed_in on public.equipment_media;
create policy equipment_media_select_signed_in on public.equipment_media
  for select to authenticated using (true);

-- Maintenance: admins only.
select private.policy_admin_read_write('public.maintenance_logs');
select private.policy_admin_read_write('public.maintenance_parts');
select private.policy_admin_read_write('public.maintenance_alerts');

-- Telematics: admins read; only the service role's ingestion writes (it
-- bypasses RLS). No app role gets a write policy, and the API roles lose the
-- write grants too, so a future permissive policy cannot open writes by mistake.
select private.policy_role_based('public.telematics_snapshots', array['admin', 'super_admin'], array['select']);
revoke insert, update, delete, truncate on public.telematics_snapshots from anon, authenticated;

-- Data migrations ----------------------------------------------------------

-- Machines already in the workshop are in service, the others ok. Only rows
-- that predate the column (still NULL) are touched: a re-run changes nothing,
-- whatever states the application has set since.
update public.equipment
   set maintenance_status = case when status = 'maintenance' then 'in_service' else 'ok' end
 where maintenance_status is null;
alter table public.equipment alter column maintenance_status set default 'ok';
-- The scan runs under the ACCESS EXCLUSIVE lock the ADD COLUMN above already
-- holds, and is skipped on a re-run (the column is NOT NULL by then).
-- squawk-ignore adding-not-nullable-field
alter table public.equipment alter column maintenance_status set not null;

-- Storage ------------------------------------------------------------------

-- Private bucket: files are served through signed URLs to signed-in users.
-- A bucket of that id made earlier (e.g. by hand in the dashboard, perhaps
-- public) is brought to these settings rather than kept as it is, so the
-- bucket is private after this file whatever was there before. A bucket
-- already set so is not touched: a re-run changes nothing.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('equipment-media', 'equipment-media', false, 104857600,
        array['image/jpeg', 'image/png', 'image/webp', 'video/mp4', 'video/quicktime', 'video/webm'])
on conflict (id) do update
  set public             = excluded.public,
      file_size_limit    = excluded.file_size_limit,
      allowed_mime_types = excluded.allowed_mime_types,
      updated_at         = now()
  where (storage.buckets.public, storage.buckets.file_size_limit, storage.buckets.allowed_mime_types)
        is distinct from (excluded.public, excluded.file_size_limit, excluded.allowed_mime_types);

drop policy if exists equipment_media_objects_select_signed_in on storage.objects;
create policy equipment_media_objects_select_signed_in on storage.objects
  for select to authenticated
  using (bucket_id = 'equipment-media');

drop policy if exists equipment_media_objects_insert_admin on storage.objects;
create policy equipment_media_objects_insert_admin on storage.objects
  for insert to authenticated
  with check (bucket_id = 'equipment-media'
              and (select private.current_app_role()) in ('admin', 'super_admin'));

drop policy if exists equipment_media_objects_update_admin on storage.objects;
create policy equipment_media_objects_update_admin on storage.objects
  for update to authenticated
  using (bucket_id = 'equipment-media'
         and (select private.current_app_role()) in ('admin', 'super_admin'))
  with check (bucket_id = 'equipment-media'
              and (select private.current_app_role()) in ('admin', 'super_admin'));

drop policy if exists equipment_media_objects_delete_admin on storage.objects;
create policy equipment_media_objects_delete_admin on storage.objects
  for delete to authenticated
  using (bucket_id = 'equipment-media'
         and (select private.current_app_role()) in ('admin', 'super_admin'));
