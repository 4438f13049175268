-- Rollback of 20240101000000_notes: drops the notes (and their data).
drop table if exists public.notes;
