-- Rollback of 20261205000500_phase3_server_prices: bookings keep the prices,
-- breakdowns, deposits and balances computed so far, but new ones are priced
-- by whoever writes them again (a customer's total_amount is accepted). The
-- promo codes customers typed are dropped with their column.

set local lock_timeout = '5s';

drop trigger if exists bookings_price on public.bookings;
drop function if exists private.price_booking();
drop function if exists private.booking_price(uuid, timestamptz, timestamptz, uuid, uuid, text);
drop function if exists private.promo_condition_holds(text, jsonb, jsonb);
alter table public.bookings drop column if exists promo_code;
