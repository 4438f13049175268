-- Phase 3: an index under the foreign key equipment_primary_media_id_fkey (primary_media_id, id): equipment's primary medium.
--
-- Supabase's advisors found no index leading with this foreign key's columns
-- (unindexed_foreign_keys). Built CONCURRENTLY, so writers of equipment
-- never wait for the build (at production's size a build in place would hold
-- them for seconds): alone in its file, as CONCURRENTLY cannot run in a
-- transaction; the runner and `supabase db push` run such a file outside one.
-- 20261205000600_phase3_one_policy_per_operation drops the index this one
-- makes redundant.
--
-- Idempotent: `if not exists`.

-- No lock_timeout: the build's SHARE UPDATE EXCLUSIVE lock blocks neither
-- readers nor writers, only other DDL and vacuum on the table.
-- squawk-ignore require-lock-timeout
create index concurrently if not exists equipment_primary_media_id_id_idx on public.equipment (primary_media_id, id);
