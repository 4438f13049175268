-- Payments and finance (20251111000500_phase3_payments): one or more rows in
-- each new table, referencing rows/00_baseline.sql only.
insert into public.manual_payments (id, booking_id, customer_id, amount, method, reference, created_by) values
  -- Recorded by Fay (finance) and by Ada (admin): each sees only their own.
  ('00000000-0000-4000-8000-00000005a001', '00000000-0000-4000-8000-00000000b002',
   '00000000-0000-4000-8000-0000000c0002', 40.00, 'cash', 'R-1001', '00000000-0000-4000-8000-0000000f0001'),
  ('00000000-0000-4000-8000-00000005a002', '00000000-0000-4000-8000-00000000b002',
   '00000000-0000-4000-8000-0000000c0002', 55.00, 'cheque', 'CHQ-2002', '00000000-0000-4000-8000-0000000a0001');

insert into public.installment_schedules (id, booking_id, customer_id, installment_number, due_date, amount) values
  ('00000000-0000-4000-8000-00000005b001', '00000000-0000-4000-8000-00000000b001',
   '00000000-0000-4000-8000-0000000c0001', 1, '2025-10-01', 270.00),
  ('00000000-0000-4000-8000-00000005b002', '00000000-0000-4000-8000-00000000b002',
   '00000000-0000-4000-8000-0000000c0002', 1, '2025-10-02', 95.00);

insert into public.payout_reconciliations (id, payout_id, payout_date, expected_amount, received_amount, payment_count)
values
  ('00000000-0000-4000-8000-00000005c001', 'po_test_0001', '2025-10-02', 540.00, 524.05, 1);

insert into public.financial_exports (id, export_type, period_start, period_end, requested_by) values
  ('00000000-0000-4000-8000-00000005d001', 'payments', '2025-10-01', '2025-10-31',
   '00000000-0000-4000-8000-0000000f0001');

-- Cora's card payment: cash up, receivable down (one balanced transaction).
insert into public.financial_ledger (id, transaction_id, booking_id, payment_id, account, entry_type, amount,
                                     created_by) values
  ('00000000-0000-4000-8000-00000005e001', '00000000-0000-4000-8000-00000005ef01',
   '00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-0000000fa001', 'cash', 'debit', 540.00,
   '00000000-0000-4000-8000-0000000f0001'),
  ('00000000-0000-4000-8000-00000005e002', '00000000-0000-4000-8000-00000005ef01',
   '00000000-0000-4000-8000-00000000b001', '00000000-0000-4000-8000-0000000fa001', 'accounts_receivable', 'credit',
   540.00, '00000000-0000-4000-8000-0000000f0001');
