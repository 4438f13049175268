"""RLS cost: what row-level security adds to a signed-in user's read, per table and role, against service_role.

For each table of the access matrix a signed-in role may read: a page of rows and a count, as each such role
(its first user) and as the service role, timed by the server on the seeded data, grown first to
`rls_cost_rows` when that is set (at the seed's few rows every read is fast). A read more than
`rls_cost_max_ratio` times slower than the service role's, and at least `rls_cost_min_ms` slower, fails,
naming the policies it goes through and the likely cause read from its plan (phase3test.access.rls_cost).
Every cell's figures go to the report, where the access grid shows the ratios.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from phase3test.access import rls_cost
from phase3test.access.matrix import Matrix
from phase3test.profiling.grow import grow
from phase3test.report.regression import RLS_COST
from phase3test.settings import Settings


def test_a_signed_in_read_costs_at_most_the_allowed_multiple_of_service_roles(
    readable_table: str,
    access_matrix: Matrix,
    fresh_db: psycopg.Connection,
    pg_settings: Settings,
    record_property: Callable[[str, object], None],
) -> None:
    if pg_settings.rls_cost_rows:
        grow(fresh_db, readable_table, pg_settings.rls_cost_rows)  # as close as its unique keys allow
    costs = rls_cost.measure(fresh_db, access_matrix, readable_table)
    record_property(RLS_COST, [cost.to_json() for cost in costs])
    slow = [cost.line() for cost in costs if cost.flagged(pg_settings.rls_cost_max_ratio, pg_settings.rls_cost_min_ms)]
    assert not slow, (  # check: rls_cost.slow_read
        f"reads over {pg_settings.rls_cost_max_ratio:g} times service_role's (rls_cost_max_ratio), "
        f"at least {pg_settings.rls_cost_min_ms:g} ms more (rls_cost_min_ms):\n  " + "\n  ".join(slow)
    )
