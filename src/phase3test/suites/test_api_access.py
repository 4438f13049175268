"""The access matrix through a running stack's API: the path our users' apps take.

`test_access` proves each cell on the database, acting as PostgREST would;
this proves it through PostgREST itself (its schema cache, exposed schemas,
JWT handling, the grants it runs with), with a token minted for each role and
user. It runs when a stack is configured (`--pg-api-url`,
`--pg-api-jwt-secret`, `--pg-api-db-url`; see docs/backends.md) and is one
skipped test otherwise. Nothing written through the API stays: every request
asks PostgREST to roll back, and a stack that does not show, on a read, that
it does gets no write at all.
"""

from __future__ import annotations

import warnings

import httpx
import psycopg
import pytest

from phase3test.access import api_probes, probes
from phase3test.access.matrix import Cell, Matrix
from phase3test.project import SupabaseProject
from phase3test.settings import Settings
from phase3test.suites.support import unless_nothing_to_act_on
from phase3test.supabase.api import ApiStack


def test_access_through_the_api_matches_the_matrix(
    api_cell: Cell,
    access_matrix: Matrix,
    supabase_api: ApiStack,
    api_database: psycopg.Connection,
    api_http: httpx.Client,
    supabase_project: SupabaseProject,
    pg_settings: Settings,
) -> None:
    outcome = api_probes.check(
        api_database, api_http, supabase_api, access_matrix, api_cell, supabase_project.api_schemas()
    )
    if isinstance(outcome, str):
        pytest.skip(outcome)
    unless_nothing_to_act_on(outcome, api_cell, pg_settings.require_rows)
    for note in outcome.unchecked:
        warnings.warn(note, probes.UncheckedAccess, stacklevel=1)
    assert not outcome.problems, f"through the API, {api_cell.role} {api_cell.operation} on {api_cell.table}: " + (
        "; ".join(outcome.problems)
    )
