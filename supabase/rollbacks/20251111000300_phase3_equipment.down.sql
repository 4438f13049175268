-- Rollback of 20251111000300_phase3_equipment: drops the media, maintenance
-- and telematics tables with their data, equipment's added columns, the
-- equipment-media storage policies and the bucket.
--
-- The bucket goes only while it is empty: deleting its row would orphan the
-- files in the storage backend (and storage.objects rows reference it), so the
-- rollback refuses, before changing anything, until they are removed through
-- the Storage API. The migration also converges a bucket of that id that
-- existed before it (made private with its limits); the rollback removes it
-- all the same and does not bring back its earlier, possibly public, settings.
--
-- refuses: object_in_use while the equipment-media bucket holds objects
-- cleared by: select set_config('storage.allow_delete_query', 'true', true); delete from storage.objects where bucket_id = 'equipment-media'
-- (On a test database the rows are all there is; in production, delete the
-- objects through the Storage API instead, which removes the files too.)

set local lock_timeout = '5s';

do $bucket$
declare
  remaining bigint;
begin
  select count(*) into remaining from storage.objects where bucket_id = 'equipment-media';
  if remaining > 0 then
    raise exception 'cannot roll back 20251111000300_phase3_equipment: bucket equipment-media still holds % object(s)',
                    remaining
      using errcode = 'object_in_use',
            hint = 'delete them through the Storage API first (deleting rows would orphan the files)';
  end if;
end
$bucket$;

drop policy if exists equipment_media_objects_select_signed_in on storage.objects;
drop policy if exists equipment_media_objects_insert_admin on storage.objects;
drop policy if exists equipment_media_objects_update_admin on storage.objects;
drop policy if exists equipment_media_objects_delete_admin on storage.objects;
-- Storage refuses a direct delete on its tables (its protect_buckets_delete
-- trigger) unless told the statement means it, for this transaction only.
select set_config('storage.allow_delete_query', 'true', true);
delete from storage.buckets where id = 'equipment-media';

alter table public.equipment drop constraint if exists equipment_primary_media_id_fkey;
drop index if exists public.equipment_primary_media_id_idx;
alter table public.equipment
  drop column if exists primary_media_id,
  drop column if exists total_engine_hours,
  drop column if exists last_telematics_at,
  drop column if exists maintenance_status;

drop table if exists
  public.maintenance_alerts,
  public.telematics_snapshots,
  public.maintenance_parts,
  public.maintenance_logs,
  public.equipment_media;
