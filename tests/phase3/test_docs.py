"""The generated docs (schema audit, migration index, changelog) match the migrations; the matrix is settled."""

from __future__ import annotations

from pathlib import Path

from phase3test.docs.pages import generated_pages, stale

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_generated_docs_are_up_to_date(db, supabase_project):
    outdated = stale(generated_pages(db, supabase_project, DOCS))
    assert outdated == [], "run `.venv/bin/phase3test docs` and commit the result"


def test_the_access_matrix_leaves_no_question_open():
    """Every question found while declaring the matrix is decided in a migration, not left as a comment."""
    matrix = (DOCS.parent / "fixtures" / "rls_matrix.yaml").read_text()
    still_open = [line for line in matrix.splitlines() if line.lstrip("# ").lower().startswith("still open")]
    assert still_open == []
