-- Free-form tags on notes, readable by whoever can read the note.
create table public.note_tags (
  note_id bigint not null references public.notes (id) on delete cascade,
  tag     text not null,
  primary key (note_id, tag)
);

alter table public.note_tags enable row level security;

create policy note_tags_follow_note on public.note_tags
  for all to authenticated
  using (exists (select 1 from public.notes n where n.id = note_id))
  with check (exists (select 1 from public.notes n where n.id = note_id));
