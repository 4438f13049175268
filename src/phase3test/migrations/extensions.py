"""The extensions a project creates, read from its SQL files before anything runs.

One missing extension used to fail every test that needed the migrated
database, each with the same error; read first, every missing extension is
named at once with the ways to get it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pglast
from pglast import ast

from phase3test.errors import SetupError
from phase3test.migrations.statements import Locator

# Debian's package for an extension a Supabase project commonly creates (PGDG's names, per major version).
DEBIAN_PACKAGES = {
    "pg_cron": "cron",
    "postgis": "postgis-3",
    "postgis_topology": "postgis-3",
    "vector": "pgvector",
    "pgtap": "pgtap",
    "pg_partman": "partman",
    "plpgsql_check": "plpgsql-check",
    "hypopg": "hypopg",
    "pg_repack": "repack",
    "pgrouting": "pgrouting",
    "http": "http",
    "pg_hashids": "hashids",
    "pgaudit": "pgaudit",
    "rum": "rum",
    "orafce": "orafce",
}


def required_extensions(files: Iterable[Path]) -> dict[str, list[str]]:
    """Each extension a `create extension` names, with where (`file:line`); files that do not parse are left
    to the runner, which reports them with their position."""
    found: dict[str, list[str]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            statements = pglast.parse_sql(text)
        except pglast.parser.ParseError:
            continue
        locate, encoded = Locator(text), text.encode()
        for raw in statements:
            if isinstance(raw.stmt, ast.CreateExtensionStmt) and raw.stmt.extname:
                # libpg_query counts bytes; the locator counts characters
                offset = len(encoded[: raw.stmt_location or 0].decode(errors="ignore"))
                line, _ = locate(offset)
                found.setdefault(raw.stmt.extname, []).append(f"{path.name}:{line}")
    return found


def check_available(required: dict[str, list[str]], available: set[str], major: int, server: str) -> None:
    """Stop, naming every missing extension and where it is created, when the server cannot provide one."""
    missing = sorted(set(required) - available)
    if not missing:
        return
    lines = []
    for name in missing:
        package = DEBIAN_PACKAGES.get(name)
        remedy = f"Debian: apt-get install postgresql-{major}-{package}" if package else "no Debian package"
        lines.append(f"{name} (created in {', '.join(required[name])}; {remedy})")
    raise SetupError(
        f"{server} lacks {len(missing)} extension(s) the project creates:\n    " + "\n    ".join(lines),
        hint="install them on this machine, or run on a server that has them: --pg-backend docker "
        "(Supabase's image) or --pg-backend external --pg-db-url ...",
    )
