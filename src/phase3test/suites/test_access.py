"""Row-level security per role: every cell of the access matrix, on seeded data, as PostgREST runs queries.

The matrix (`phase3test_rls_matrix`, default `fixtures/rls_matrix.yaml`)
declares, per table in an exposed schema, which roles may select, insert,
update and delete: every row, their own, or nothing. One test per cell checks
the declaration against the database; a table without a declaration fails
the coverage test, so every new table forces an access decision in review.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict

import psycopg

from phase3test import probes
from phase3test.access import Cell, Matrix
from phase3test.access_report import PROPERTY
from phase3test.project import SupabaseProject


def test_every_table_in_an_exposed_schema_has_access_decisions(
    access_matrix: Matrix, db: psycopg.Connection, supabase_project: SupabaseProject
) -> None:
    exposed = supabase_project.api_schemas()
    tables = {
        name
        for (name,) in db.execute(
            """select format('%%I.%%I', n.nspname, c.relname) from pg_class c
                 join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = any (%s) and c.relkind in ('r', 'p') and not c.relispartition""",
            (exposed,),
        )
    }
    missing = sorted(tables - access_matrix.tables.keys())
    gone = sorted(t for t in access_matrix.tables if db.execute("select to_regclass(%s)", (t,)).fetchone() == (None,))
    assert not missing and not gone, "\n".join(
        [f"{access_matrix.path}:"]
        + [f"  {t}: in an exposed schema ({', '.join(exposed)}) with no access decisions" for t in missing]
        + [f"  {t}: has access decisions but no such table exists" for t in gone]
    )


def test_access_matches_the_matrix(
    access_cell: Cell, access_matrix: Matrix, db: psycopg.Connection, record_property: Callable[[str, object], None]
) -> None:
    record_property(PROPERTY, {**asdict(access_cell), "roles": list(access_matrix.roles)})
    verdict = probes.check(db, access_matrix, access_cell)
    for note in verdict.unchecked:
        warnings.warn(note, probes.UncheckedAccess, stacklevel=1)
    assert not verdict.problems, f"{access_cell.role} {access_cell.operation} on {access_cell.table}: " + "; ".join(
        verdict.problems
    )
