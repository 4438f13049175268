-- Who reads secrets and who may rewrite the ledger, acting as the seeded users
-- (phase3_seeders.user_id(role, 0)) the way PostgREST would.
begin;
select plan(4);

select set_config('request.jwt.claims', '{"sub": "ae561f9d-a635-5028-af8e-9986d0b74444", "role": "authenticated"}', true);
set local role authenticated;
select is((select count(*)::int from public.secret_store), 0, 'a customer reads no secret');
reset role;

select set_config('request.jwt.claims', '{"sub": "17ef3222-27cd-5855-ad39-35bcab5c19ab", "role": "authenticated"}', true);
set local role authenticated;
select cmp_ok((select count(*)::int from public.secret_store), '>', 0, 'a super admin reads the secrets');
reset role;

select ok(
  not has_table_privilege('service_role', 'public.financial_ledger', 'update'),
  'the service role cannot rewrite the ledger'
);
select ok(
  has_table_privilege('service_role', 'public.financial_ledger', 'insert'),
  'the service role posts to the ledger'
);

select * from finish();
rollback;
