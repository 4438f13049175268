"""`phase3test docs` on the sample project: writes the pages, then `--check` agrees, and notices drift."""

from __future__ import annotations

import shutil

import pytest

from phase3test.cli import main

pytestmark = pytest.mark.slow


def test_docs_writes_then_checks_clean_then_notices_an_edit(sample_project, tmp_path, isolated_home, monkeypatch):
    monkeypatch.setenv("PHASE3TEST_HOME", str(isolated_home))
    project = tmp_path / "supabase"
    shutil.copytree(sample_project / "supabase", project)
    docs = tmp_path / "docs"
    args = ["--supabase-dir", str(project), "--docs-dir", str(docs)]

    assert main(["docs", *args]) == 0
    audit = (docs / "admin" / "schema-audit.md").read_text()
    assert "| `public.notes` | table | on | - | SIUD | SIUD | 4 |" in audit  # granted to anon by nobody
    assert "`notes_select_own` | SELECT | authenticated |" in audit
    index = (docs / "migrations" / "index.md").read_text()
    assert "| 20240101000000 | `20240101000000_notes.sql` | Notes belong to the auth user who wrote them." in index
    changelog = (tmp_path / "CHANGELOG.md").read_text()  # next to the docs folder
    assert changelog.index("## 20240102000000 `20240102000000_note_tags.sql`") < changelog.index(
        "## 20240101000000 `20240101000000_notes.sql`"
    ), "newest first"
    assert main(["docs", "--check", *args]) == 0

    (project / "migrations" / "20240103000000_pinned.sql").write_text(
        "-- Pin notes.\nalter table public.notes add column pinned boolean not null default false;\n"
    )
    assert main(["docs", "--check", *args]) == 1


def test_index_shows_rollbacks_and_missing_ones(sample_project, tmp_path):
    from phase3test.docs.migration_index import render
    from phase3test.project import SupabaseProject

    project = tmp_path / "supabase"
    shutil.copytree(sample_project / "supabase", project)
    irreversible = project / "rollbacks" / "20240102000000_note_tags.down.sql"
    irreversible.write_text("-- irreversible: tags are gone for good\n")
    (project / "migrations" / "20240103000000_more.sql").write_text("-- More.\n-- Depends on: notes\nselect 1;\n")
    index = render(SupabaseProject(project))
    assert "| `rollbacks/20240101000000_notes.down.sql` |" in index
    assert "| **irreversible**: tags are gone for good |" in index
    assert "| 20240103000000 | `20240103000000_more.sql` | More. | notes | **missing** |" in index


def test_the_changelog_says_what_each_file_changes_and_how_it_is_undone_or_why_not(sample_project, tmp_path):
    from phase3test.docs.changelog import render
    from phase3test.project import SupabaseProject

    project = tmp_path / "supabase"
    shutil.copytree(sample_project / "supabase", project)
    (project / "rollbacks" / "20240102000000_note_tags.down.sql").write_text(
        "-- irreversible: tags are gone for good\n"
    )
    (project / "migrations" / "20240103000000_more.sql").write_text(
        "-- More notes.\n--\n-- Each gets a colour.\n--\n-- Depends on: notes\n--\n-- Idempotent: yes.\nselect 1;\n"
    )
    entries = render(SupabaseProject(project)).split("\n## ")[1:]
    assert entries[0] == (
        "20240103000000 `20240103000000_more.sql`\n\nMore notes.\n\nEach gets a colour.\n\n"
        "**No rollback**: the static suite fails on it.\n"
    )
    assert entries[1].endswith("\n\n**Irreversible**: tags are gone for good\n")
    assert entries[2].startswith("20240101000000 `20240101000000_notes.sql`\n\nNotes belong to the auth user")
    assert "\n\n**Reversible** (`rollbacks/20240101000000_notes.down.sql`): " in entries[2]
