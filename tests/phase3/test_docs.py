"""The generated docs (schema audit, migration index) match what the migrations produce."""

from __future__ import annotations

from pathlib import Path

from phase3test.docs.pages import generated_pages, stale

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_generated_docs_are_up_to_date(db, supabase_project):
    outdated = stale(generated_pages(db, supabase_project, DOCS))
    assert outdated == [], "run `.venv/bin/phase3test docs` and commit the result"
