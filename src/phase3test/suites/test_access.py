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
import pytest

from phase3test.access import probes
from phase3test.access.matrix import Cell, Matrix
from phase3test.access.served import served_functions, served_tables
from phase3test.fixtures import MATRIX, missing_matrix
from phase3test.project import SupabaseProject
from phase3test.report.access_grid import PROPERTY
from phase3test.settings import Settings
from phase3test.suites.support import unless_nothing_to_act_on


@pytest.mark.cause(MATRIX)
def test_every_table_and_function_in_an_exposed_schema_has_access_decisions(
    request: pytest.FixtureRequest, db: psycopg.Connection, supabase_project: SupabaseProject
) -> None:
    missing = missing_matrix(request.config)
    if missing:
        pytest.fail(missing, pytrace=False)  # check: access.matrix_present
    access_matrix: Matrix = request.getfixturevalue("access_matrix")
    exposed = supabase_project.api_schemas()
    tables = set(served_tables(db, exposed))
    functions = {function.signature for function in served_functions(db, exposed)}
    problems: list[str] = []
    problems += [  # check: access.undeclared_tables
        f"{t}: a table in an exposed schema with no access decisions"
        for t in sorted(tables - access_matrix.tables.keys())
    ]
    problems += [  # check: access.undeclared_functions
        f"{f}: a function the API serves (RPC) with no access decisions"
        for f in sorted(functions - access_matrix.functions.keys())
    ]
    problems += [  # check: access.stale_tables
        f"{t}: has access decisions but no such table exists" for t in access_matrix.tables if not _exists(db, t)
    ]
    problems += [  # check: access.stale_functions
        f"{f}: has access decisions but the API serves no such function"
        for f in access_matrix.functions
        if f not in functions
    ]
    assert not problems, f"{access_matrix.path} (exposed schemas: {', '.join(exposed)}):\n  " + "\n  ".join(problems)


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (table,)).fetchone() == (True,)


def test_access_matches_the_matrix(
    access_cell: Cell,
    access_matrix: Matrix,
    db: psycopg.Connection,
    pg_settings: Settings,
    record_property: Callable[[str, object], None],
) -> None:
    record_property(PROPERTY, {**asdict(access_cell), "roles": list(access_matrix.roles)})
    verdict = probes.check(db, access_matrix, access_cell)
    unless_nothing_to_act_on(verdict, access_cell, pg_settings.require_rows)
    for note in verdict.unchecked:
        warnings.warn(note, probes.UncheckedAccess, stacklevel=1)
    assert not verdict.problems, (
        f"{access_cell.role} {access_cell.operation} on {access_cell.table}: "
        + "; ".join(  # check: access.cell
            verdict.problems
        )
    )
