"""Which generated page goes where."""

from __future__ import annotations

from pathlib import Path

import psycopg

from phase3test.docs import changelog, migration_index, schema_audit
from phase3test.project import SupabaseProject


def generated_pages(conn: psycopg.Connection, project: SupabaseProject, docs_dir: Path) -> dict[Path, str]:
    """Every generated page and its current text; `conn` is a migrated database of the project. The changelog
    goes next to the docs folder (the repository's root, for `docs/`)."""
    return {
        docs_dir / "admin" / "schema-audit.md": schema_audit.render(conn),
        docs_dir / "migrations" / "index.md": migration_index.render(project),
        docs_dir.parent / "CHANGELOG.md": changelog.render(project),
    }


def stale(pages: dict[Path, str]) -> list[Path]:
    """Pages whose checked-in text differs from what the project produces now."""
    return [path for path, text in pages.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
