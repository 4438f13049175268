"""The matrix inferred from a database agrees with the one people wrote and reviewed for it (Phase 3's)."""

from __future__ import annotations

import psycopg

from phase3test.access.inference import infer
from phase3test.access.matrix import load
from phase3test.project import SupabaseProject
from phase3test.settings import Settings


def test_the_inferred_phase3_matrix_finds_the_app_roles_and_agrees_with_the_reviewed_one(
    db: psycopg.Connection, supabase_project: SupabaseProject, pg_settings: Settings
) -> None:
    assert pg_settings.rls_matrix is not None
    declared = load(pg_settings.rls_matrix)
    inferred = infer(db, supabase_project.api_schemas())
    signed_in = {name for name, role in inferred.roles.items() if role.api_role == "authenticated"}
    assert signed_in == {name for name, role in declared.roles.items() if role.api_role == "authenticated"}
    for name in signed_in:  # each role's users query finds its holders
        assert db.execute(inferred.roles[name].users or "").fetchall(), name
    cells = [
        (table.name, operation, role, cell.value)
        for table in inferred.tables
        if table.name in declared.tables
        for (operation, role), cell in table.cells.items()
    ]
    agreeing = [c for c in cells if declared.tables[c[0]].expected(c[1], c[2]) == c[3]]
    # The rest are `own` cells whose role owns no seeded row: the probe sees deny there.
    assert len(agreeing) / len(cells) > 0.95, f"{len(agreeing)} of {len(cells)} cells agree"
