"""The ledger of checks (docs/testing.md) and the checks marked `# check: <id>` in the code, read the same way
by its test (tests/suites/test_ledger.py) and by the mutation run (tests/mutate.py)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "phase3test"
# Where checks are marked: the framework's suites and the Phase 3 project's own checks that matter.
MARKED_IN = (PACKAGE, REPO / "tests" / "phase3")
PAGE = REPO / "docs" / "testing.md"
SECTION = "## The ledger of checks"
_MARKER = re.compile(r"#\s*check:\s*(?P<id>[\w.]+)\s*$")
_ROW = re.compile(r"^\| `(?P<check>[\w.]+)` \| (?P<refuses>.+?) \| (?P<samples>`.+`) \|$")


@dataclass(frozen=True)
class Entry:
    """A row of the ledger: a check, the fault it refuses, and the tests that prove it refuses it."""

    check: str
    refuses: str
    samples: tuple[str, ...]  # pytest node ids, relative to the repository


@dataclass(frozen=True)
class Marked:
    """Where the code makes a check: the file and the line of its marker (a line of its statement)."""

    check: str
    path: Path
    line: int


def entries(page: Path = PAGE) -> dict[str, Entry]:
    text = page.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    found: dict[str, Entry] = {}
    for line in section.splitlines():
        row = _ROW.match(line)
        if row:
            samples = tuple(sample.strip().strip("`") for sample in row["samples"].split("`, `"))
            found[row["check"]] = Entry(row["check"], row["refuses"], samples)
    return found


def marked(folders: tuple[Path, ...] = MARKED_IN) -> dict[str, Marked]:
    """Every marked check; a check marked twice is an error (each is switched off on its own)."""
    found: dict[str, Marked] = {}
    for path in sorted(path for folder in folders for path in folder.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _MARKER.search(line)
            if match is None:
                continue
            check = match["id"]
            if check in found:
                raise ValueError(
                    f"check {check} is marked twice: {found[check].path}:{found[check].line} and {path}:{number}"
                )
            found[check] = Marked(check, path, number)
    return found


def switched_off(source: str, line: int) -> str:
    """`source` with the statement the marker on `line` belongs to (the smallest one spanning that line, since a
    formatter may move the comment to a statement's last line) replaced by `pass`, at its indent."""
    spanning = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if not spanning:
        raise ValueError(f"no statement spans line {line}")
    node = min(spanning, key=lambda s: (s.end_lineno or s.lineno) - s.lineno)
    lines = source.splitlines(keepends=True)
    first = lines[node.lineno - 1]
    indent = first[: len(first) - len(first.lstrip())]
    end = node.end_lineno or node.lineno
    return "".join([*lines[: node.lineno - 1], f"{indent}pass  # switched off by tests/mutate.py\n", *lines[end:]])
