-- Rollback of 20240102000000_note_tags.
drop table if exists public.note_tags;
