"""RLS cost on real plans: the causes read from a slow policy's plan, and none from a fast one's.

A `public.journal` table of 20,000 entries, 1 in 100 Cora's, read by Cora as `writer` through each policy
below; the figures are whatever this machine measures, the assertions are on the plans' causes and on the
ordering a user would notice (the unwrapped, unindexed policy is the slowest).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from phase3test.access import matrix, rls_cost

CORA = "00000000-0000-4000-8000-00000000c0a0"
MATRIX = """
roles:
  writer: {api_role: authenticated, users: "select '00000000-0000-4000-8000-00000000c0a0'::uuid"}
  service_role: {api_role: service_role}
tables:
  public.journal:
    own: "owner_id = auth.uid()"
    select: {writer: own, service_role: allow}
    insert: {}
    update: {}
    delete: {}
"""
UNWRAPPED = "auth.uid() = owner_id"
WRAPPED = "(select auth.uid()) = owner_id"
# A scalar subquery per entry: Postgres cannot hash it (an EXISTS it would), so it runs once per row.
JOINED = "(select o.user_id from public.journal_owners o where o.entry_id = journal.id limit 1) = (select auth.uid())"


@pytest.fixture
def journal(fresh_db: psycopg.Connection, tmp_path: Path) -> tuple[psycopg.Connection, matrix.Matrix]:
    fresh_db.execute(
        "insert into auth.users (id, email, aud, role) values (%s, 'cora@journal.test', 'authenticated',"
        " 'authenticated')",
        (CORA,),
    )
    fresh_db.execute("create table public.journal (id bigint primary key, owner_id uuid not null, body text not null)")
    fresh_db.execute(
        "insert into public.journal select n, case when n %% 100 = 0 then %s::uuid else gen_random_uuid() end,"
        " repeat('x', 40) from generate_series(1, 20000) n",
        (CORA,),
    )
    fresh_db.execute("create table public.journal_owners (entry_id bigint, user_id uuid)")
    fresh_db.execute("insert into public.journal_owners select id, owner_id from public.journal")
    fresh_db.execute("create index on public.journal_owners (entry_id)")
    fresh_db.execute("alter table public.journal enable row level security")
    fresh_db.execute("grant select on public.journal, public.journal_owners to authenticated, service_role")
    fresh_db.execute("analyze public.journal")
    fresh_db.execute("analyze public.journal_owners")
    path = tmp_path / "matrix.yaml"
    path.write_text(MATRIX)
    return fresh_db, matrix.load(path)


def reads_through(conn: psycopg.Connection, loaded: matrix.Matrix, policy: str) -> dict[str, rls_cost.Cost]:
    conn.execute("drop policy if exists journal_select_own on public.journal")
    conn.execute(f"create policy journal_select_own on public.journal for select to authenticated using ({policy})")
    return {cost.read: cost for cost in rls_cost.measure(conn, loaded, "public.journal")}


def test_a_per_row_call_and_a_missing_index_are_named(journal):
    conn, loaded = journal
    costs = reads_through(conn, loaded, UNWRAPPED)
    assert set(costs) == {"page", "count", "own page"}
    count = costs["count"]
    assert (count.table, count.rows, count.role, count.policies) == (
        "public.journal",
        20000,
        "writer",
        ("journal_select_own",),
    )
    assert "calls auth.uid() once per row: wrap it as (select auth.uid()) so it runs once" in count.causes
    assert "reads every row: no index leads with owner_id, which the policy compares" in count.causes


def test_wrapped_the_call_goes_and_with_an_index_no_cause_is_left(journal):
    conn, loaded = journal
    wrapped = reads_through(conn, loaded, WRAPPED)["count"]
    assert not any("once per row" in cause for cause in wrapped.causes)
    assert any("no index leads with owner_id" in cause for cause in wrapped.causes)
    conn.execute("create index journal_owner_id_idx on public.journal (owner_id)")
    conn.execute("analyze public.journal")
    indexed = reads_through(conn, loaded, WRAPPED)
    assert indexed["count"].causes == () and indexed["page"].causes == ()


def test_a_join_in_the_policy_runs_a_subquery_for_every_row(journal):
    conn, loaded = journal
    joined = reads_through(conn, loaded, JOINED)["count"]
    assert any("subquery for every row" in cause for cause in joined.causes), joined.causes


def test_the_slow_policy_costs_more_than_the_fast_one_and_only_it_is_flagged(journal):
    conn, loaded = journal
    slow = reads_through(conn, loaded, UNWRAPPED)["count"]
    conn.execute("create index journal_owner_id_idx on public.journal (owner_id)")
    conn.execute("analyze public.journal")
    fast = reads_through(conn, loaded, WRAPPED)["count"]
    assert slow.role_ms > fast.role_ms
    assert slow.flagged(max_ratio=2, min_ms=0.5) and not fast.flagged(max_ratio=2, min_ms=0.5)


def test_the_grid_shows_each_cells_ratios_flagged_in_bold(journal):
    conn, loaded = journal
    costs = list(reads_through(conn, loaded, UNWRAPPED).values())
    lines = rls_cost.grid(costs, max_ratio=0.001, min_ms=0)
    assert lines[0] == "| table (rows) | writer |"
    assert lines[2].startswith("| `public.journal` (20,000) | **x") and " / **x" in lines[2]


def test_an_own_row_reader_also_reads_as_a_client_filtering_on_its_rows(journal):
    """The page a client gets with `.eq('owner_id', uid)`: under the matrix's own predicate, served by the index."""
    conn, loaded = journal
    conn.execute("create index journal_owner_id_idx on public.journal (owner_id)")
    conn.execute("analyze public.journal")
    own = reads_through(conn, loaded, UNWRAPPED)["own page"]
    # Her id written out, as PostgREST sends it: the index leads the read to her rows, no full read.
    assert not any(cause.startswith("reads every row") for cause in own.causes)
    assert own.ratio < 10
    assert rls_cost.as_sent("owner_id = (select auth.uid()) or auth.uid() is null", CORA).as_string(conn) == (
        f"owner_id = '{CORA}'::uuid or '{CORA}'::uuid is null"
    )
