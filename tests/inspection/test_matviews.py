"""Which views a refresh entry point refreshes is read from the locks its call takes, so a wrapper or dynamic
SQL counts, the lock says whether it refreshed concurrently, and nothing the call did survives."""

from __future__ import annotations

import psycopg

from phase3test.inspection.matviews import refreshed_by

VIEWS = """
create table public.t (id int primary key);
insert into public.t select generate_series(1, 3);
create materialized view public.a as select id from public.t;
create unique index a_id on public.a (id);
create materialized view public.b as select count(*) as n from public.a;
create materialized view public.untouched as select 1 as x;
create function public.refresh_b() returns void language plpgsql as $$
begin
  execute format('refresh materialized view %I.%I', 'public', 'b');
end $$;
create function public.refresh_all() returns void language plpgsql as $$
begin
  refresh materialized view concurrently public.a;
  perform public.refresh_b();
end $$;
"""


def test_the_views_a_call_refreshes_with_the_lock_it_takes_through_helpers_and_dynamic_sql(
    empty_db: psycopg.Connection,
) -> None:
    empty_db.execute(VIEWS)
    empty_db.execute("insert into public.t values (4)")
    assert refreshed_by(empty_db, "public.refresh_all()") == {
        "public.a": "ExclusiveLock",
        "public.b": "AccessExclusiveLock",
    }
    assert empty_db.execute("select count(*) from public.a").fetchone() == (3,), "the call was rolled back"
