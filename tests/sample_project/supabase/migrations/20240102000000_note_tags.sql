-- Free-form tags on notes, readable by whoever can read the note.
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

create table if not exists public.note_tags (
  note_id bigint not null references public.notes (id) on delete cascade,
  tag     text not null,
  primary key (note_id, tag)
);

alter table public.note_tags enable row level security;
grant select, insert, update, delete on public.note_tags to authenticated, service_role;

drop policy if exists note_tags_follow_note on public.note_tags;
create policy note_tags_follow_note on public.note_tags
  for all to authenticated
  using (exists (select 1 from public.notes n where n.id = note_id))
  with check (exists (select 1 from public.notes n where n.id = note_id));
