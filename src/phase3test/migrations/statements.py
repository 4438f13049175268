"""A migration file's statements, split by Postgres' own grammar (libpg_query, through pglast).

Splitting by grammar keeps dollar-quoted bodies and `BEGIN ATOMIC` blocks
whole, and knows where each statement starts, so an error can name its line
and column in the file.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from pglast import ast, parse_sql
from pglast.parser import ParseError, split

_MAYBE_NON_TRANSACTIONAL = re.compile(r"\b(concurrently|vacuum|database|system|tablespace)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """One statement of a file, with where it starts (1-based line and column)."""

    text: str
    offset: int
    line: int
    column: int


def split_statements(sql: str) -> list[Statement] | None:
    """Split with libpg_query (handles dollar quotes and BEGIN ATOMIC bodies); None if it does not parse."""
    try:
        slices = split(sql, with_parser=True, only_slices=True)
    except ParseError:
        return None
    locate = Locator(sql)
    return [Statement(sql[s], s.start, *locate(s.start)) for s in slices]


class Locator:
    """Character offset to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1


def needs_autocommit(statement: Statement) -> bool:
    """True for statements Postgres refuses inside a transaction block."""
    if not _MAYBE_NON_TRANSACTIONAL.search(statement.text):
        return False
    node = parse_sql(statement.text)[0].stmt
    if isinstance(node, (ast.IndexStmt, ast.DropStmt)):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        return any(getattr(p, "defname", None) == "concurrently" for p in node.params or ())
    if isinstance(node, ast.VacuumStmt):
        return bool(node.is_vacuumcmd)
    return isinstance(
        node,
        (ast.CreatedbStmt, ast.DropdbStmt, ast.AlterSystemStmt, ast.CreateTableSpaceStmt, ast.DropTableSpaceStmt),
    )
