-- Equipment media, maintenance and telematics (20251111000300_phase3_equipment).
-- The excavator (e001) has a photo set as its primary media, one maintenance
-- log with a part, an open alert and a telematics reading. Baseline rows keep
-- their baseline values. No object in the equipment-media bucket: tests add their own.
insert into public.equipment_media (id, equipment_id, storage_path, media_type, caption, uploaded_by) values
  ('00000000-0000-4000-8000-000000e3d001', '00000000-0000-4000-8000-00000000e001',
   '00000000-0000-4000-8000-00000000e001/front.jpg', 'image', 'Front view', '00000000-0000-4000-8000-0000000a0001');

update public.equipment set primary_media_id = '00000000-0000-4000-8000-000000e3d001', total_engine_hours = 1250.5
 where id = '00000000-0000-4000-8000-00000000e001';

insert into public.maintenance_logs (id, equipment_id, kind, summary, performed_by, performed_at, engine_hours,
                                     labor_cost) values
  ('00000000-0000-4000-8000-000000e31001', '00000000-0000-4000-8000-00000000e001', 'preventive',
   '1000-hour service', '00000000-0000-4000-8000-0000000a0001', '2025-09-15 10:00+00', 1000.0, 240.00);

insert into public.maintenance_parts (id, maintenance_log_id, part_number, description, quantity, unit_cost) values
  ('00000000-0000-4000-8000-000000e3a001', '00000000-0000-4000-8000-000000e31001', 'HF-6553', 'Hydraulic filter',
   1, 38.50);

insert into public.telematics_snapshots (id, equipment_id, recorded_at, latitude, longitude, engine_hours,
                                         fuel_level_pct) values
  ('00000000-0000-4000-8000-000000e35001', '00000000-0000-4000-8000-00000000e001', '2025-10-03 17:00+00',
   51.507400, -0.127800, 1250.5, 62.00);

insert into public.maintenance_alerts (id, equipment_id, alert_type, severity, message, due_at) values
  ('00000000-0000-4000-8000-000000e3a101', '00000000-0000-4000-8000-00000000e001', 'engine_hours', 'warning',
   '1500-hour service due', '2025-11-30 00:00+00');
