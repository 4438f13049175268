-- Rollback of 20261205000580_phase3_equipment_media_fk_index: the foreign key's index goes
-- (concurrently, alone in its file like the build).

drop index concurrently if exists public.equipment_primary_media_id_id_idx;
