-- Phase 3: the server prices bookings.
--
-- A customer creating a pending booking chose its total_amount; staff were
-- expected to notice. Now the price is computed here whenever a booking is
-- created without one, and again whenever its equipment, its period or its
-- promo code changes:
--
--   base      = the equipment's daily rate x the rental days (every started
--               day of 24 hours counts, at least one)
--   discount  = the applicable promotions (below), never more than the base
--   total     = base - discount, in the equipment's currency
--   deposit   = total x system setting booking.deposit_percent / 100 (none
--               without the setting); owed ('pending') until staff mark it
--
-- and the working is kept in pricing_breakdown. A promotion applies when its
-- rule is active and running now, is automatic (no code) or its code is the
-- booking's promo_code, has redemptions left, meets every condition
-- (min_booking_total on the base, min_rental_days, equipment_category,
-- equipment, weekday: ISO day of the first rental day, first_booking: the
-- customer has no other booking that was not cancelled) and at least one of
-- its segments, if it names any. A rule's actions add up (percent_off of the
-- base, amount_off in the booking's currency, free_days at the daily rate;
-- free_delivery is noted, deliveries are billed elsewhere). The customer gets
-- the better of: the best rule that does not stack, or every rule that
-- stacks. Recording the redemption stays with confirmation (staff, service).
--
-- Who may set a price: non-staff never (a client-supplied total_amount is
-- refused, 42501: leave it out); admins and the service role may set a
-- negotiated total on insert or change it later (then it stands until the
-- equipment, the period or the code changes). A repricing moves the balance
-- due by as much as the total moved, and the deposit while it is not paid.
-- Customers edit only their pending bookings (baseline policy), so a period
-- edit after confirmation is staff's, and reprices.
--
-- Depends on: 20251101000000_baseline_platform (bookings, equipment),
-- 20251111000200_phase3_bookings (pricing_breakdown, deposit, balance_due,
-- guard_booking_charges), 20251111000400_phase3_customers (customer tags),
-- 20251111000700_phase3_promotions_contracts (promo rules),
-- 20251111000800_phase3_audit_security (system_settings).
--
-- Idempotent: every statement can run again on top of itself.

set local lock_timeout = '5s';

-- The code a customer typed; upper-cased by the trigger, matched against promo_rules.code.
alter table public.bookings add column if not exists promo_code text;

-- Whether a fact about the booking meets a promotion's condition (jsonb both).
create or replace function private.promo_condition_holds(operator text, fact jsonb, expected jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case
    when operator = 'eq' then fact = expected
    when operator = 'neq' then fact <> expected
    when operator = 'in' then jsonb_typeof(expected) = 'array' and expected @> jsonb_build_array(fact)
    when operator = 'not_in' then jsonb_typeof(expected) = 'array' and not expected @> jsonb_build_array(fact)
    when jsonb_typeof(fact) <> 'number' or jsonb_typeof(expected) <> 'number' then false
    when operator = 'gt' then fact::numeric > expected::numeric
    when operator = 'gte' then fact::numeric >= expected::numeric
    when operator = 'lt' then fact::numeric < expected::numeric
    when operator = 'lte' then fact::numeric <= expected::numeric
    else false
  end
$$;
revoke all on function private.promo_condition_holds(text, jsonb, jsonb) from public, anon, authenticated, service_role;

-- The price of renting `for_equipment` over the period for `for_customer`, as
-- the breakdown bookings keep. `this_booking` (null for a new one) is left out
-- of the first-booking and redemption counts. Runs as its owner: customers
-- may not read promotion rules, settings or tags, but are priced by them.
create or replace function private.booking_price(
  for_equipment uuid,
  period_start timestamptz,
  period_end timestamptz,
  for_customer uuid,
  this_booking uuid,
  with_code text
)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  item record;
  rental_days bigint;
  base_price numeric;
  first_booking boolean;
  facts jsonb;
  offer record;
  best_single jsonb;
  stacked jsonb := '[]';
  stacked_discount numeric := 0;
  chosen jsonb;
  discount numeric;
  total numeric;
  deposit_percent numeric;
begin
  select e.daily_rate, e.currency, e.category into item from public.equipment e where e.id = for_equipment;
  if not found then
    raise exception 'equipment % does not exist', for_equipment using errcode = '23503';
  end if;
  rental_days := greatest(ceil(extract(epoch from period_end - period_start) / 86400), 1);
  base_price := item.daily_rate * rental_days;
  first_booking := not exists (select from public.bookings b
                                where b.customer_id = for_customer and b.id is distinct from this_booking
                                  and b.status <> 'cancelled');
  facts := jsonb_build_object('min_booking_total', base_price, 'min_rental_days', rental_days,
                              'equipment_category', item.category, 'equipment', for_equipment,
                              'weekday', extract(isodow from period_start)::int, 'first_booking', first_booking);
  for offer in
    select r.id, r.code, r.stackable, least(d.amount, base_price) as amount, d.free_delivery
      from public.promo_rules r
     cross join lateral (
       select coalesce(sum(case a.kind
                             when 'percent_off' then round(base_price * a.percent_off / 100, 2)
                             when 'amount_off' then case when a.currency = item.currency then a.amount_off else 0 end
                             when 'free_days' then item.daily_rate * least(a.free_days, rental_days)
                             else 0
                           end), 0) as amount,
              coalesce(bool_or(a.kind = 'free_delivery'), false) as free_delivery
         from public.promo_rule_actions a
        where a.rule_id = r.id) d
     where r.status = 'active' and r.starts_at <= now() and (r.ends_at is null or r.ends_at > now())
       and (r.code is null or r.code = with_code)
       and (r.max_redemptions is null
            or (select count(*) from public.promo_redemptions x
                 where x.rule_id = r.id and x.status = 'redeemed' and x.booking_id is distinct from this_booking)
               < r.max_redemptions)
       and not exists (select from public.promo_rule_conditions c
                        where c.rule_id = r.id
                          and private.promo_condition_holds(c.operator, facts -> c.kind, c.value) is not true)
       and (not exists (select from public.promo_rule_segments s where s.rule_id = r.id)
            or exists (select from public.promo_rule_segments s
                        where s.rule_id = r.id
                          and (s.segment = 'all_customers'
                               or (s.segment = 'new_customers' and first_booking)
                               or (s.segment = 'returning_customers' and not first_booking)
                               or (s.segment = 'customer_tag'
                                   and exists (select from public.customer_tag_members m
                                                where m.tag_id = s.customer_tag_id
                                                  and m.customer_id = for_customer)))))
     order by r.priority, r.id
  loop
    if offer.stackable then
      stacked := stacked || jsonb_build_array(jsonb_build_object(
        'rule_id', offer.id, 'code', offer.code, 'discount', offer.amount, 'free_delivery', offer.free_delivery));
      stacked_discount := stacked_discount + offer.amount;
    elsif best_single is null or offer.amount > (best_single ->> 'discount')::numeric then
      best_single := jsonb_build_object(
        'rule_id', offer.id, 'code', offer.code, 'discount', offer.amount, 'free_delivery', offer.free_delivery);
    end if;
  end loop;
  chosen := case when best_single is not null and (best_single ->> 'discount')::numeric >= stacked_discount
                 then jsonb_build_array(best_single) else stacked end;
  select least(coalesce(sum((p ->> 'discount')::numeric), 0), base_price) into discount
    from jsonb_array_elements(chosen) p;
  total := base_price - discount;
  select (s.value #>> '{}')::numeric into deposit_percent
    from public.system_settings s where s.key = 'booking.deposit_percent';
  return jsonb_build_object(
    'currency', item.currency, 'daily_rate', item.daily_rate, 'days', rental_days, 'base', base_price,
    'promo_code', with_code, 'promotions', chosen, 'discount', discount, 'total', total,
    'deposit_percent', coalesce(deposit_percent, 0),
    'deposit', round(total * coalesce(deposit_percent, 0) / 100, 2));
end
$$;
revoke all on function private.booking_price(uuid, timestamptz, timestamptz, uuid, uuid, text) from public, anon;
-- The trigger below runs as the caller and calls it.
grant execute on function private.booking_price(uuid, timestamptz, timestamptz, uuid, uuid, text)
  to authenticated, service_role;

-- Runs as the caller, so current_user is the API role. Named to fire after the
-- bookings_guard_* triggers, which judge what the caller wrote, not this.
create or replace function private.price_booking()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  by_staff boolean := current_user not in ('anon', 'authenticated');
  breakdown jsonb;
  total numeric;
  deposit numeric;
begin
  -- anon has no usage on schema private: look the role up for signed-in callers only.
  if current_user = 'authenticated' then
    by_staff := coalesce(private.current_app_role(), '') in ('admin', 'super_admin');
  end if;
  if tg_op = 'INSERT' and new.total_amount is not null then
    if not by_staff then
      raise exception 'the server prices a booking: a client cannot set its total_amount'
        using errcode = '42501',
              hint = 'leave total_amount out; the price and its breakdown are computed on insert';
    end if;
    return new;  -- a negotiated price, set by staff
  end if;
  if tg_op = 'UPDATE' and (new.total_amount is distinct from old.total_amount
     or (new.equipment_id, new.starts_at, new.ends_at, new.promo_code)
        is not distinct from (old.equipment_id, old.starts_at, old.ends_at, old.promo_code)) then
    return new;  -- staff set the total themselves, or nothing that makes the price changed
  end if;
  new.promo_code := nullif(upper(btrim(new.promo_code)), '');
  breakdown := private.booking_price(new.equipment_id, new.starts_at, new.ends_at, new.customer_id,
                                     case when tg_op = 'UPDATE' then old.id end, new.promo_code);
  total := (breakdown ->> 'total')::numeric;
  deposit := (breakdown ->> 'deposit')::numeric;
  new.pricing_breakdown := breakdown;
  new.currency := breakdown ->> 'currency';
  if tg_op = 'INSERT' then
    new.balance_due := coalesce(new.balance_due, total);
  elsif old.balance_due is not null then
    new.balance_due := greatest(old.balance_due + total - old.total_amount, 0);
  end if;
  new.total_amount := total;
  if new.deposit_status in ('not_required', 'pending') then
    new.deposit_amount := deposit;
    new.deposit_status := case when deposit > 0 then 'pending' else 'not_required' end;
  end if;
  return new;
end
$$;
revoke all on function private.price_booking() from public, anon, authenticated, service_role;

create or replace trigger bookings_price
  before insert or update of equipment_id, starts_at, ends_at, promo_code on public.bookings
  for each row execute function private.price_booking();
