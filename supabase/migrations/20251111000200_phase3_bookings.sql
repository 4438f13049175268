-- Phase 3: bookings and logistics.
--
-- The booking wizard keeps a customer's unfinished booking in
-- booking_wizard_sessions; admins track scheduling conflicts
-- (booking_conflicts), notes on bookings (booking_notes), the logistics work of
-- each booking (logistics_tasks, with a pickup_checklists row per pickup) and
-- bulk actions over many bookings (booking_bulk_operations). Bookings gain a
-- pricing breakdown, a deposit and the balance still due; delivery assignments
-- point at their logistics task and carry a route link and an ETA; payments
-- carry the provider's payout they were paid out in.
--
-- Who sees what: a wizard session is its creator's alone (plus admins); a
-- customer reads the notes on their own bookings that are not internal;
-- everything else here is for admins (admin, super_admin), who request bulk
-- operations in their own name. Anon sees nothing.
--
-- Who sets what: a booking's price, pricing breakdown, deposit and balance due
-- are set by admins (finance: the balance too), the service role and
-- migrations, never by the customer (guard trigger on bookings).
--
-- Depends on: 20251101000000_baseline_platform (users, equipment, bookings,
-- payments, delivery_assignments, private.current_app_role()),
-- 20251111000000_phase3_policy_helpers.
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema additions ---------------------------------------------------------

create table if not exists public.booking_wizard_sessions (
  id           uuid primary key default gen_random_uuid(),
  created_by   uuid not null default auth.uid()
               constraint booking_wizard_sessions_created_by_fkey references public.users (id) on delete cascade,
  equipment_id uuid
               constraint booking_wizard_sessions_equipment_id_fkey
               references public.equipment (id) on delete set null,
  -- The booking the wizard produced, once it was submitted.
  booking_id   uuid
               constraint booking_wizard_sessions_booking_id_fkey references public.bookings (id) on delete set null,
  current_step text not null default 'equipment'
               constraint booking_wizard_sessions_current_step_check
               check (current_step in ('equipment', 'dates', 'delivery', 'extras', 'review', 'payment')),
  status       text not null default 'active'
               constraint booking_wizard_sessions_status_check
               check (status in ('active', 'submitted', 'abandoned', 'expired')),
  -- The answers so far (dates, address, extras ...), as the client sends them.
  draft        jsonb not null default '{}'
               constraint booking_wizard_sessions_draft_check check (jsonb_typeof(draft) = 'object'),
  expires_at   timestamptz not null default now() + interval '7 days',
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint booking_wizard_sessions_booking_id_check check (booking_id is null or status = 'submitted')
);

create table if not exists public.booking_conflicts (
  id                     uuid primary key default gen_random_uuid(),
  booking_id             uuid not null
                         constraint booking_conflicts_booking_id_fkey
                         references public.bookings (id) on delete cascade,
  -- The other booking involved, for overlaps between two bookings.
  conflicting_booking_id uuid
                         constraint booking_conflicts_conflicting_booking_id_fkey
                         references public.bookings (id) on delete cascade,
  equipment_id           uuid not null
                         constraint booking_conflicts_equipment_id_fkey references public.equipment (id),
  conflict_type          text not null
                         constraint booking_conflicts_conflict_type_check
                         check (conflict_type in ('double_booking', 'maintenance', 'turnaround_buffer',
                                                  'delivery_capacity')),
  status                 text not null default 'open'
                         constraint booking_conflicts_status_check check (status in ('open', 'resolved', 'ignored')),
  detected_at            timestamptz not null default now(),
  resolved_by            uuid
                         constraint booking_conflicts_resolved_by_fkey
                         references public.users (id) on delete set null,
  resolved_at            timestamptz,
  resolution_notes       text,
  created_at             timestamptz not null default now(),
  constraint booking_conflicts_other_booking_check check (conflicting_booking_id <> booking_id),
  constraint booking_conflicts_resolved_at_check check ((status = 'open') = (resolved_at is null))
);

create table if not exists public.booking_notes (
  id          uuid primary key default gen_random_uuid(),
  booking_id  uuid not null
              constraint booking_notes_booking_id_fkey references public.bookings (id) on delete cascade,
  -- NULL for notes the system writes.
  author_id   uuid default auth.uid()
              constraint booking_notes_author_id_fkey references public.users (id) on delete set null,
  body        text not null constraint booking_notes_body_check check (btrim(body) <> ''),
  -- Internal notes are staff-only; a note is internal unless it is marked for the customer.
  is_internal boolean not null default true,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table if not exists public.logistics_tasks (
  id             uuid primary key default gen_random_uuid(),
  booking_id     uuid
                 constraint logistics_tasks_booking_id_fkey references public.bookings (id) on delete cascade,
  equipment_id   uuid constraint logistics_tasks_equipment_id_fkey references public.equipment (id),
  task_type      text not null
                 constraint logistics_tasks_task_type_check
                 check (task_type in ('delivery', 'pickup', 'inspection', 'cleaning', 'transfer')),
  status         text not null default 'pending'
                 constraint logistics_tasks_status_check
                 check (status in ('pending', 'scheduled', 'in_progress', 'completed', 'cancelled', 'failed')),
  scheduled_date date not null,
  window_start   timestamptz,
  window_end     timestamptz,
  assigned_to    uuid
                 constraint logistics_tasks_assigned_to_fkey references public.users (id) on delete set null,
  address        text,
  notes          text,
  completed_at   timestamptz,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint logistics_tasks_subject_check check (booking_id is not null or equipment_id is not null),
  constraint logistics_tasks_window_check check (window_end > window_start),
  constraint logistics_tasks_completed_at_check check (status = 'completed' or completed_at is null)
);

create table if not exists public.pickup_checklists (
  id                  uuid primary key default gen_random_uuid(),
  -- One checklist per pickup task.
  task_id             uuid not null
                      constraint pickup_checklists_task_id_fkey references public.logistics_tasks (id) on delete cascade
                      constraint pickup_checklists_task_id_key unique,
  booking_id          uuid not null
                      constraint pickup_checklists_booking_id_fkey references public.bookings (id) on delete cascade,
  status              text not null default 'pending'
                      constraint pickup_checklists_status_check
                      check (status in ('pending', 'in_progress', 'completed')),
  -- [{"item": "bucket attached", "ok": true, "note": null}, ...]
  items               jsonb not null default '[]'
                      constraint pickup_checklists_items_check check (jsonb_typeof(items) = 'array'),
  equipment_condition text
                      constraint pickup_checklists_equipment_condition_check
                      check (equipment_condition in ('good', 'minor_damage', 'major_damage', 'missing_parts')),
  fuel_level_pct      numeric(5, 2)
                      constraint pickup_checklists_fuel_level_pct_check check (fuel_level_pct between 0 and 100),
  engine_hours        numeric(10, 1) constraint pickup_checklists_engine_hours_check check (engine_hours >= 0),
  damage_notes        text,
  photo_paths         text[] not null default '{}',
  completed_by        uuid
                      constraint pickup_checklists_completed_by_fkey
                      references public.users (id) on delete set null,
  completed_at        timestamptz,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint pickup_checklists_completed_at_check check ((status = 'completed') = (completed_at is not null))
);

create table if not exists public.booking_bulk_operations (
  id              uuid primary key default gen_random_uuid(),
  operation_type  text not null
                  constraint booking_bulk_operations_operation_type_check
                  check (operation_type in ('confirm', 'cancel', 'reschedule', 'assign_driver', 'add_note',
                                            'export')),
  status          text not null default 'pending'
                  constraint booking_bulk_operations_status_check
                  check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  booking_ids     uuid[] not null
                  constraint booking_bulk_operations_booking_ids_check check (cardinality(booking_ids) > 0),
  parameters      jsonb not null default '{}'
                  constraint booking_bulk_operations_parameters_check check (jsonb_typeof(parameters) = 'object'),
  processed_count bigint not null default 0
                  constraint booking_bulk_operations_processed_count_check check (processed_count >= 0),
  failed_count    bigint not null default 0
                  constraint booking_bulk_operations_failed_count_check check (failed_count >= 0),
  -- [{"booking_id": ..., "error": ...}, ...] for the bookings that failed.
  errors          jsonb not null default '[]'
                  constraint booking_bulk_operations_errors_check check (jsonb_typeof(errors) = 'array'),
  requested_by    uuid not null default auth.uid()
                  constraint booking_bulk_operations_requested_by_fkey references public.users (id),
  started_at      timestamptz,
  completed_at    timestamptz,
  created_at      timestamptz not null default now(),
  constraint booking_bulk_operations_counts_check check (processed_count + failed_count <= cardinality(booking_ids))
);

-- Bookings: how the price was made up, the deposit and the balance still due.
alter table public.bookings
  add column if not exists pricing_breakdown jsonb
  constraint bookings_pricing_breakdown_check check (jsonb_typeof(pricing_breakdown) = 'object');
alter table public.bookings
  add column if not exists deposit_amount numeric(12, 2) not null default 0
  constraint bookings_deposit_amount_check check (deposit_amount >= 0);
alter table public.bookings
  add column if not exists deposit_status text not null default 'not_required'
  constraint bookings_deposit_status_check
  check (deposit_status in ('not_required', 'pending', 'paid', 'refunded', 'forfeited'));
alter table public.bookings add column if not exists deposit_paid_at timestamptz;
-- total_amount minus the succeeded payments, never below 0. NULL only until
-- the backfill below (or the booking flow) has computed it.
alter table public.bookings
  add column if not exists balance_due numeric(12, 2)
  constraint bookings_balance_due_check check (balance_due >= 0);

-- Delivery assignments: the logistics task they carry out, the driver's route and ETA.
alter table public.delivery_assignments add column if not exists task_id uuid;
alter table public.delivery_assignments
  add column if not exists route_url text
  constraint delivery_assignments_route_url_check check (route_url ~ '^https://');
alter table public.delivery_assignments add column if not exists eta timestamptz;

-- Payments: the payment provider's payout that included this payment (e.g. Stripe 'po_...').
alter table public.payments add column if not exists payout_id text;

-- Deleting a logistics task unlinks its delivery assignments. Added fully
-- validated: task_id is new and NULL on every row, and the ADD COLUMN above
-- already holds delivery_assignments' ACCESS EXCLUSIVE lock until commit, so
-- NOT VALID + a later VALIDATE would spare no lock and no scan.
do $fk$
begin
  if not exists (select from pg_catalog.pg_constraint
                 where conrelid = 'public.delivery_assignments'::regclass
                   and conname = 'delivery_assignments_task_id_fkey') then
    alter table public.delivery_assignments
      add constraint delivery_assignments_task_id_fkey
      foreign key (task_id) references public.logistics_tasks (id) on delete set null;
  end if;
end
$fk$;

-- What a booking costs and what is owed on it are staff's to set: customers
-- create and edit their own pending bookings (baseline policies), but a new
-- booking of theirs starts with no pricing breakdown, no deposit and no
-- balance, and their edits leave the price, the deposit and the balance as
-- they are. Admins (admin, super_admin) set them all; finance also sets the
-- balance. The service role and migrations (current_user not an API role)
-- are trusted. Runs as the caller, so current_user is the API role.
create or replace function private.guard_booking_charges()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  app_role text;
begin
  if current_user not in ('anon', 'authenticated') then
    return new;
  end if;
  app_role := coalesce(private.current_app_role(), '');
  if app_role in ('admin', 'super_admin') then
    return new;
  end if;
  if tg_op = 'INSERT' then
    if new.pricing_breakdown is not null
       or new.deposit_amount <> 0
       or new.deposit_status <> 'not_required'
       or new.deposit_paid_at is not null
       or (new.balance_due is not null and app_role <> 'finance') then
      raise exception 'only staff can set a booking''s pricing breakdown, deposit or balance due'
        using errcode = '42501';
    end if;
  elsif new.total_amount is distinct from old.total_amount
        or new.pricing_breakdown is distinct from old.pricing_breakdown
        or new.deposit_amount is distinct from old.deposit_amount
        or new.deposit_status is distinct from old.deposit_status
        or new.deposit_paid_at is distinct from old.deposit_paid_at
        or (new.balance_due is distinct from old.balance_due and app_role <> 'finance') then
    raise exception 'only staff can change a booking''s price, pricing breakdown, deposit or balance due'
      using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function private.guard_booking_charges() from public;

create or replace trigger bookings_guard_charges
  before insert or update on public.bookings
  for each row execute function private.guard_booking_charges();

-- Indexes ------------------------------------------------------------------

create index if not exists booking_wizard_sessions_created_by_idx
  on public.booking_wizard_sessions (created_by, updated_at);
create index if not exists booking_wizard_sessions_equipment_id_idx on public.booking_wizard_sessions (equipment_id);
create index if not exists booking_wizard_sessions_booking_id_idx on public.booking_wizard_sessions (booking_id);

create index if not exists booking_conflicts_booking_id_idx on public.booking_conflicts (booking_id);
create index if not exists booking_conflicts_conflicting_booking_id_idx
  on public.booking_conflicts (conflicting_booking_id);
create index if not exists booking_conflicts_equipment_id_idx on public.booking_conflicts (equipment_id);
create index if not exists booking_conflicts_resolved_by_idx on public.booking_conflicts (resolved_by);
-- A detector re-running does not report the same open conflict twice.
create unique index if not exists booking_conflicts_one_open_key
  on public.booking_conflicts (booking_id, conflict_type, coalesce(conflicting_booking_id, booking_id))
  where status = 'open';

-- A booking's notes, oldest first.
create index if not exists booking_notes_booking_id_created_at_idx on public.booking_notes (booking_id, created_at);
create index if not exists booking_notes_author_id_idx on public.booking_notes (author_id);

-- The dispatch board: tasks by status, day by day.
create index if not exists logistics_tasks_status_scheduled_date_idx
  on public.logistics_tasks (status, scheduled_date);
create index if not exists logistics_tasks_booking_id_idx on public.logistics_tasks (booking_id);
create index if not exists logistics_tasks_equipment_id_idx on public.logistics_tasks (equipment_id);
create index if not exists logistics_tasks_assigned_to_idx on public.logistics_tasks (assigned_to, scheduled_date);

-- pickup_checklists (task_id) is indexed by its unique constraint.
create index if not exists pickup_checklists_booking_id_idx on public.pickup_checklists (booking_id);
create index if not exists pickup_checklists_completed_by_idx on public.pickup_checklists (completed_by);

create index if not exists booking_bulk_operations_requested_by_idx
  on public.booking_bulk_operations (requested_by, created_at);

-- delivery_assignments and payments are existing tables: squawk asks for
-- CREATE INDEX CONCURRENTLY, which cannot run inside this file's transaction
-- (supabase db push and our runner both wrap each file in one). A plain build
-- costs no extra blocking here: the ADD COLUMNs above already hold both
-- tables' ACCESS EXCLUSIVE locks until commit, and the indexed columns are
-- NULL on every existing row (the partial indexes start empty).
-- squawk-ignore require-concurrent-index-creation
create index if not exists delivery_assignments_task_id_idx
  on public.delivery_assignments (task_id) where task_id is not null;
-- Payout reconciliation looks up the payments of one payout.
-- squawk-ignore require-concurrent-index-creation
create index if not exists payments_payout_id_idx
  on public.payments (payout_id) where payout_id is not null;

-- RLS policies -------------------------------------------------------------

-- Wizard sessions: admins all; everyone else only the sessions they created.
-- A session can only point at a booking its creator can see as their own.
select private.policy_admin_read_write('public.booking_wizard_sessions');
drop policy if exists booking_wizard_sessions_select_own on public.booking_wizard_sessions;
create policy booking_wizard_sessions_select_own on public.booking_wizard_sessions
  for select to authenticated using (created_by = (select auth.uid()));
drop policy if exists booking_wizard_sessions_insert_own on public.booking_wizard_sessions;
create policy booking_wizard_sessions_insert_own on public.booking_wizard_sessions
  for insert to authenticated
  with check (created_by = (select auth.uid())
              and (booking_id is null
                   or exists (select from public.bookings b
                              where b.id = booking_id and b.customer_id = (select auth.uid()))));
drop policy if exists booking_wizard_sessions_update_own on public.booking_wizard_sessions;
create policy booking_wizard_sessions_update_own on public.booking_wizard_sessions
  for update to authenticated
  using (created_by = (select auth.uid()))
  with check (created_by = (select auth.uid())
              and (booking_id is null
                   or exists (select from public.bookings b
                              where b.id = booking_id and b.customer_id = (select auth.uid()))));
drop policy if exists booking_wizard_sessions_delete_own on public.booking_wizard_sessions;
create policy booking_wizard_sessions_delete_own on public.booking_wizard_sessions
  for delete to authenticated using (created_by = (select auth.uid()));

-- Booking notes: admins all; customers read the non-internal notes on their own bookings.
select private.policy_admin_read_write('public.booking_notes');
drop policy if exists booking_notes_select_own_shared on public.booking_notes;
create policy booking_notes_select_own_shared on public.booking_notes
  for select to authenticated
  using (not is_internal
         and exists (select from public.bookings b
                     where b.id = booking_id and b.customer_id = (select auth.uid())));

-- Conflicts, logistics, checklists and bulk operations: admins only.
select private.policy_admin_read_write('public.booking_conflicts');
select private.policy_admin_read_write('public.logistics_tasks');
select private.policy_admin_read_write('public.pickup_checklists');
select private.policy_admin_read_write('public.booking_bulk_operations');
-- A bulk operation is requested in the requester's own name.
drop policy if exists booking_bulk_operations_insert_as_self on public.booking_bulk_operations;
create policy booking_bulk_operations_insert_as_self on public.booking_bulk_operations
  as restrictive for insert to authenticated
  with check (requested_by = (select auth.uid()));

-- Data migrations ----------------------------------------------------------

-- Existing bookings took no deposit: the column defaults (deposit_amount 0,
-- deposit_status 'not_required') already say so, without rewriting a row.

-- Balance due of existing bookings: total minus the succeeded payments in the
-- booking's currency, never below 0. Only rows not computed yet, so a re-run
-- changes nothing and never overwrites a balance the booking flow has set.
update public.bookings b
   set balance_due = greatest(
         b.total_amount - coalesce((select sum(p.amount)
                                      from public.payments p
                                     where p.booking_id = b.id
                                       and p.status = 'succeeded'
                                       and p.currency = b.currency), 0),
         0)
 where b.balance_due is null;

-- Materialized views -------------------------------------------------------

-- None.

-- Storage ------------------------------------------------------------------

-- None.
