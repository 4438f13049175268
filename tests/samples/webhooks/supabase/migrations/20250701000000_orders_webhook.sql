-- Every new order is posted to the fulfilment service, with a token kept in Vault.
create extension if not exists pg_net with schema extensions;
create extension if not exists supabase_vault with schema vault;

create table if not exists public.orders (
  id    bigint generated always as identity primary key,
  item  text not null,
  total numeric(10, 2) not null check (total >= 0)
);
alter table public.orders enable row level security;

select vault.create_secret('fulfilment-token-for-tests', 'fulfilment_token', 'bearer token of the fulfilment API')
 where not exists (select from vault.secrets where name = 'fulfilment_token');

create or replace function public.post_new_order() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform net.http_post(
    url := 'https://fulfilment.example.test/orders',
    body := jsonb_build_object('id', new.id, 'item', new.item, 'total', new.total),
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets
                                      where name = 'fulfilment_token'))
  );
  return new;
end
$$;
revoke execute on function public.post_new_order() from public, anon, authenticated;

drop trigger if exists orders_post_new on public.orders;
create trigger orders_post_new after insert on public.orders
  for each row execute function public.post_new_order();
