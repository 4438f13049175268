-- Baseline: the rental platform as it runs before Phase 3.
--
-- Ten tables Phase 3 extends and backfills, each with row-level security:
-- customers see and act on their own rows, admins see everything, anon sees
-- nothing. The app role lives on public.users and is read through
-- private.current_app_role(), a SECURITY DEFINER lookup that policies call
-- as `(select private.current_app_role())` so it runs once per statement and
-- never recurses into the users policies.
--
-- Depends on: the Supabase environment (auth.users, auth.uid(), the API roles).
--
-- Idempotent: every statement can run again on top of itself.

-- Fail fast instead of queueing behind live traffic (this file's transaction only).
set local lock_timeout = '5s';

-- Schema for helpers the API must not expose ------------------------------

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;

-- Tables -------------------------------------------------------------------

create table if not exists public.users (
  id         uuid primary key references auth.users (id) on delete cascade,
  email      text not null,
  full_name  text,
  phone      text,
  role       text not null default 'customer'
             constraint users_role_check
             check (role in ('customer', 'admin', 'super_admin', 'finance', 'marketing', 'security',
                             'pricing_service')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index if not exists users_email_key on public.users (lower(email));

create table if not exists public.equipment (
  id            uuid primary key default gen_random_uuid(),
  name          text not null,
  category      text not null,
  serial_number text not null,
  status        text not null default 'available'
                constraint equipment_status_check
                check (status in ('available', 'rented', 'maintenance', 'retired')),
  daily_rate    numeric(12, 2) not null constraint equipment_daily_rate_check check (daily_rate >= 0),
  currency      text not null default 'USD' constraint equipment_currency_check check (currency ~ '^[A-Z]{3}$'),
  location      text,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  constraint equipment_serial_number_key unique (serial_number)
);
create index if not exists equipment_status_idx on public.equipment (status);

create table if not exists public.bookings (
  id           uuid primary key default gen_random_uuid(),
  customer_id  uuid not null references public.users (id),
  equipment_id uuid not null references public.equipment (id),
  starts_at    timestamptz not null,
  ends_at      timestamptz not null,
  status       text not null default 'pending'
               constraint bookings_status_check
               check (status in ('pending', 'confirmed', 'active', 'completed', 'cancelled')),
  total_amount numeric(12, 2) not null constraint bookings_total_amount_check check (total_amount >= 0),
  currency     text not null default 'USD' constraint bookings_currency_check check (currency ~ '^[A-Z]{3}$'),
  notes        text,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint bookings_period_check check (ends_at > starts_at)
);
create index if not exists bookings_customer_id_idx on public.bookings (customer_id);
create index if not exists bookings_equipment_period_idx on public.bookings (equipment_id, starts_at);
create index if not exists bookings_status_idx on public.bookings (status);

create table if not exists public.payments (
  id                 uuid primary key default gen_random_uuid(),
  booking_id         uuid not null references public.bookings (id),
  customer_id        uuid not null references public.users (id),
  amount             numeric(12, 2) not null constraint payments_amount_check check (amount > 0),
  currency           text not null default 'USD' constraint payments_currency_check check (currency ~ '^[A-Z]{3}$'),
  method             text not null constraint payments_method_check check (method in ('card', 'bank_transfer', 'cash')),
  status             text not null default 'pending'
                     constraint payments_status_check
                     check (status in ('pending', 'succeeded', 'failed', 'refunded')),
  provider_reference text,
  paid_at            timestamptz,
  created_at         timestamptz not null default now()
);
create index if not exists payments_booking_id_idx on public.payments (booking_id);
create index if not exists payments_customer_id_idx on public.payments (customer_id);

create table if not exists public.delivery_assignments (
  id            uuid primary key default gen_random_uuid(),
  booking_id    uuid not null references public.bookings (id) on delete cascade,
  driver_id     uuid references public.users (id),
  kind          text not null constraint delivery_assignments_kind_check check (kind in ('delivery', 'pickup')),
  scheduled_for timestamptz not null,
  status        text not null default 'scheduled'
                constraint delivery_assignments_status_check
                check (status in ('scheduled', 'in_transit', 'completed', 'cancelled')),
  address       text not null,
  created_at    timestamptz not null default now()
);
create index if not exists delivery_assignments_booking_id_idx on public.delivery_assignments (booking_id);
create index if not exists delivery_assignments_driver_id_idx on public.delivery_assignments (driver_id);

create table if not exists public.support_tickets (
  id          uuid primary key default gen_random_uuid(),
  customer_id uuid not null references public.users (id),
  booking_id  uuid references public.bookings (id),
  subject     text not null,
  body        text not null,
  status      text not null default 'open'
              constraint support_tickets_status_check check (status in ('open', 'pending', 'resolved', 'closed')),
  priority    text not null default 'normal'
              constraint support_tickets_priority_check check (priority in ('low', 'normal', 'high', 'urgent')),
  assigned_to uuid references public.users (id),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create index if not exists support_tickets_customer_id_idx on public.support_tickets (customer_id);
create index if not exists support_tickets_booking_id_idx on public.support_tickets (booking_id);
create index if not exists support_tickets_assigned_to_idx on public.support_tickets (assigned_to);

create table if not exists public.insurance_documents (
  id            uuid primary key default gen_random_uuid(),
  customer_id   uuid not null references public.users (id),
  booking_id    uuid references public.bookings (id),
  document_type text not null,
  storage_path  text not null,
  status        text not null default 'pending'
                constraint insurance_documents_status_check
                check (status in ('pending', 'approved', 'rejected', 'expired')),
  expires_on    date,
  created_at    timestamptz not null default now()
);
create index if not exists insurance_documents_customer_id_idx on public.insurance_documents (customer_id);
create index if not exists insurance_documents_booking_id_idx on public.insurance_documents (booking_id);

create table if not exists public.contract_templates (
  id         uuid primary key default gen_random_uuid(),
  name       text not null constraint contract_templates_name_key unique,
  body       text not null,
  is_active  boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists public.contracts (
  id          uuid primary key default gen_random_uuid(),
  booking_id  uuid not null references public.bookings (id),
  customer_id uuid not null references public.users (id),
  template_id uuid not null references public.contract_templates (id),
  status      text not null default 'draft'
              constraint contracts_status_check check (status in ('draft', 'sent', 'signed', 'void')),
  signed_at   timestamptz,
  created_at  timestamptz not null default now()
);
create index if not exists contracts_booking_id_idx on public.contracts (booking_id);
create index if not exists contracts_customer_id_idx on public.contracts (customer_id);
create index if not exists contracts_template_id_idx on public.contracts (template_id);

create table if not exists public.system_settings (
  key         text primary key,
  value       jsonb not null,
  description text,
  updated_at  timestamptz not null default now(),
  updated_by  uuid references public.users (id)
);
create index if not exists system_settings_updated_by_idx on public.system_settings (updated_by);

-- Role lookup and the users guard ------------------------------------------

-- Reads the caller's app role bypassing users' RLS (it runs as its owner),
-- so policies on users can use it without recursing into themselves.
create or replace function private.current_app_role()
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select u.role from public.users u where u.id = (select auth.uid())
$$;
revoke all on function private.current_app_role() from public;
grant execute on function private.current_app_role() to authenticated, service_role;

-- Only a super admin changes app roles through the API, and nobody re-keys a
-- profile to another auth user (that would hand its role to someone else);
-- the service role and migrations (postgres) are trusted. Runs as the
-- caller, so current_user is the API role.
create or replace function private.guard_user_privileged_columns()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if current_user in ('anon', 'authenticated') and new.id is distinct from old.id then
    raise exception 'a user''s id cannot change'
      using errcode = '42501';
  end if;
  if current_user in ('anon', 'authenticated')
     and new.role is distinct from old.role
     and coalesce(private.current_app_role(), '') <> 'super_admin' then
    raise exception 'only a super admin can change a user''s role'
      using errcode = '42501';
  end if;
  return new;
end
$$;
revoke all on function private.guard_user_privileged_columns() from public;
grant execute on function private.guard_user_privileged_columns() to authenticated;

create or replace trigger users_guard_privileged_columns
  before update on public.users
  for each row execute function private.guard_user_privileged_columns();

-- Row-level security -------------------------------------------------------

alter table public.users enable row level security;
alter table public.equipment enable row level security;
alter table public.bookings enable row level security;
alter table public.payments enable row level security;
alter table public.delivery_assignments enable row level security;
alter table public.support_tickets enable row level security;
alter table public.insurance_documents enable row level security;
alter table public.contract_templates enable row level security;
alter table public.contracts enable row level security;
alter table public.system_settings enable row level security;

-- Admins (admin, super_admin) may do everything on every baseline table but
-- users (below): a profile row carries the app role, so creating one is
-- creating privilege.
do $admins$
declare
  target text;
begin
  foreach target in array array['equipment', 'bookings', 'payments', 'delivery_assignments',
                                 'support_tickets', 'insurance_documents', 'contract_templates', 'contracts',
                                 'system_settings'] loop
    execute format('drop policy if exists admin_all on public.%I', target);
    execute format(
      'create policy admin_all on public.%I for all to authenticated'
      ' using ((select private.current_app_role()) in (''admin'', ''super_admin''))'
      ' with check ((select private.current_app_role()) in (''admin'', ''super_admin''))',
      target);
  end loop;
end
$admins$;

-- users: admins read and edit profiles (the guard keeps roles for super
-- admins); only a super admin creates or deletes one. Sign-up creates
-- profiles through the service role.
drop policy if exists users_admin_select on public.users;
create policy users_admin_select on public.users
  for select to authenticated using ((select private.current_app_role()) in ('admin', 'super_admin'));
drop policy if exists users_admin_update on public.users;
create policy users_admin_update on public.users
  for update to authenticated
  using ((select private.current_app_role()) in ('admin', 'super_admin'))
  with check ((select private.current_app_role()) in ('admin', 'super_admin'));
drop policy if exists users_super_admin_insert on public.users;
create policy users_super_admin_insert on public.users
  for insert to authenticated with check ((select private.current_app_role()) = 'super_admin');
drop policy if exists users_super_admin_delete on public.users;
create policy users_super_admin_delete on public.users
  for delete to authenticated using ((select private.current_app_role()) = 'super_admin');

-- Customers: their own profile.
drop policy if exists users_select_own on public.users;
create policy users_select_own on public.users
  for select to authenticated using (id = (select auth.uid()));
drop policy if exists users_update_own on public.users;
create policy users_update_own on public.users
  for update to authenticated using (id = (select auth.uid())) with check (id = (select auth.uid()));

-- Signed-in users browse the catalogue.
drop policy if exists equipment_select_signed_in on public.equipment;
create policy equipment_select_signed_in on public.equipment
  for select to authenticated using (true);

-- Customers: their own bookings, created and edited while still pending.
drop policy if exists bookings_select_own on public.bookings;
create policy bookings_select_own on public.bookings
  for select to authenticated using (customer_id = (select auth.uid()));
drop policy if exists bookings_insert_own on public.bookings;
create policy bookings_insert_own on public.bookings
  for insert to authenticated with check (customer_id = (select auth.uid()) and status = 'pending');
drop policy if exists bookings_update_own_pending on public.bookings;
create policy bookings_update_own_pending on public.bookings
  for update to authenticated
  using (customer_id = (select auth.uid()) and status = 'pending')
  with check (customer_id = (select auth.uid()) and status in ('pending', 'cancelled'));

-- Customers: read their own payments; payments are written by the service role.
drop policy if exists payments_select_own on public.payments;
create policy payments_select_own on public.payments
  for select to authenticated using (customer_id = (select auth.uid()));

-- Customers: deliveries of their own bookings.
drop policy if exists delivery_assignments_select_own on public.delivery_assignments;
create policy delivery_assignments_select_own on public.delivery_assignments
  for select to authenticated
  using (exists (select 1 from public.bookings b
                 where b.id = booking_id and b.customer_id = (select auth.uid())));

-- Customers: open and follow their own tickets.
drop policy if exists support_tickets_select_own on public.support_tickets;
create policy support_tickets_select_own on public.support_tickets
  for select to authenticated using (customer_id = (select auth.uid()));
drop policy if exists support_tickets_insert_own on public.support_tickets;
create policy support_tickets_insert_own on public.support_tickets
  for insert to authenticated
  with check (customer_id = (select auth.uid())
              and (booking_id is null
                   or exists (select 1 from public.bookings b
                              where b.id = booking_id and b.customer_id = (select auth.uid()))));

-- Customers: upload and see their own insurance documents.
drop policy if exists insurance_documents_select_own on public.insurance_documents;
create policy insurance_documents_select_own on public.insurance_documents
  for select to authenticated using (customer_id = (select auth.uid()));
drop policy if exists insurance_documents_insert_own on public.insurance_documents;
create policy insurance_documents_insert_own on public.insurance_documents
  for insert to authenticated
  with check (customer_id = (select auth.uid()) and status = 'pending'
              and (booking_id is null
                   or exists (select 1 from public.bookings b
                              where b.id = booking_id and b.customer_id = (select auth.uid()))));

-- Customers: read their own contracts.
drop policy if exists contracts_select_own on public.contracts;
create policy contracts_select_own on public.contracts
  for select to authenticated using (customer_id = (select auth.uid()));

-- contract_templates and system_settings: admins only (admin_all above).
