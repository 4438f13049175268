"""The skips a project expects, each with its reason; with the `expected_skips` setting, any other skip fails.

A skip is a decision, not a default: a check that quietly stops running (a
missing tool, a fixture that found nothing, a closed way down) leaves a green
gate that proves less. The file lists each expected skip as a test id pattern
(fnmatch) and the text its reason contains:

    - test: "*suites/test_api_access.py::*"
      reason: "no Supabase stack to test through"
      why: "CI runs no stack; the matrix is checked in SQL"
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from phase3test.errors import SetupError


@dataclass(frozen=True)
class ExpectedSkip:
    test: str  # fnmatch pattern over the test id
    reason: str  # text the skip's reason must contain
    why: str

    def matches(self, test: str, reason: str) -> bool:
        return fnmatch.fnmatchcase(test, self.test) and self.reason in reason


@dataclass
class ExpectedSkips:
    path: Path
    expected: list[ExpectedSkip]
    seen: set[int] = field(default_factory=set)  # indexes of the entries some skip matched

    def unexpected(self, test: str, reason: str) -> str | None:
        """None when the skip is expected, else why it fails."""
        for index, entry in enumerate(self.expected):
            if entry.matches(test, reason):
                self.seen.add(index)
                return None
        return (
            f"unexpected skip: {reason}\n  {self.path} lists the skips this project expects; make the test run, "
            "or add it there with its reason and why"
        )

    def never_seen(self) -> list[ExpectedSkip]:
        return [entry for index, entry in enumerate(self.expected) if index not in self.seen]


def load(path: Path) -> ExpectedSkips:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read the expected skips {path}: {exc}") from None
    if not isinstance(data, list):
        raise SetupError(f"{path}: expected a list of {{test, reason, why}} entries")
    expected = []
    for number, entry in enumerate(data, start=1):
        fields = ("test", "reason", "why")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k] for k in fields):
            raise SetupError(f"{path}: entry {number} needs `test`, `reason` and `why`, each a non-empty text")
        expected.append(ExpectedSkip(entry["test"], entry["reason"], entry["why"]))
    return ExpectedSkips(path, expected)
