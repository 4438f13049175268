"""The ledger of checks in docs/testing.md covers every check the code marks, and nothing else, and every
sample it names exists; `tests/mutate.py` then proves each sample fails when its check is switched off."""

from __future__ import annotations

import subprocess
import sys

import pytest
from ledger import REPO, entries, marked, switched_off
from limits import SUBPROCESS_TIMEOUT


def test_every_marked_check_is_in_the_ledger_and_every_entry_is_marked() -> None:
    in_code, in_ledger = set(marked()), set(entries())
    assert sorted(in_code - in_ledger) == [], "checks the ledger does not list (add a row and a sample)"
    assert sorted(in_ledger - in_code) == [], "ledger rows for checks the code no longer marks"


def test_every_check_has_a_sample_and_every_sample_exists() -> None:
    samples = sorted({sample for entry in entries().values() for sample in entry.samples})
    assert all(entry.samples for entry in entries().values())
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *samples]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    collected = set(result.stdout.splitlines())
    assert [sample for sample in samples if sample not in collected] == []


def test_switching_a_check_off_replaces_exactly_its_statement() -> None:
    source = "def f(x):\n    y = 1\n    if x:\n        assert x, (\n            'no'\n        )  # check: a\n"
    source += "    return y\n"
    off = switched_off(source, 6)
    assert off == "def f(x):\n    y = 1\n    if x:\n        pass  # switched off by tests/mutate.py\n    return y\n"
    compile(off, "<off>", "exec")
    with pytest.raises(ValueError, match="no statement spans line 9"):
        switched_off(source, 9)


def test_a_marked_check_switched_off_still_compiles() -> None:
    for check in marked().values():
        compile(switched_off(check.path.read_text(), check.line), str(check.path), "exec")
