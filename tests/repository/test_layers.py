"""Packages depend downwards only: what each part of phase3test may import, read from the code's imports.

The rule is the one docs/architecture.md states; a new import that breaks it
(server/ reaching up into a run, inspection/ into provisioning/) fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "phase3test"
BASE = {"errors", "project"}
# Each part and the parts it may import (besides itself).
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "project": {"errors"},
    "server": BASE,
    "supabase": BASE | {"settings"},  # the CLI's location is a setting
    "migrations": BASE,
    "inspection": BASE,
    "seeding": BASE,
    "access": BASE | {"supabase", "inspection"},
    "docs": BASE | {"supabase", "migrations"},
    "settings_file": {"errors"},
    "sharding": BASE,  # which tests a shard runs: a function of their ids (and durations) only
    # below supabase (it never imports it); profiling for the profile's row counts
    "settings": BASE | {"server", "seeding", "migrations", "settings_file", "profiling", "sharding"},
    "provisioning": BASE | {"server", "supabase", "migrations", "seeding", "settings"},
    "report": BASE | {"access", "inspection", "migrations"},
    "profiling": BASE | {"server", "migrations"},
    "fixtures": BASE | {"server", "supabase", "migrations", "access", "provisioning", "settings"},
    "gate": BASE | {"migrations", "report", "settings"},  # the summary reads report.json
    # profiling: the refresh-path suite runs the profile's readers on the views a refresh locks (one workload)
    "suites": BASE
    | {
        "server",
        "supabase",
        "migrations",
        "inspection",
        "access",
        "profiling",
        "provisioning",
        "report",
        "settings",
        "fixtures",
    },
    "plugin": BASE
    | {
        "expected_skips",
        "server",
        "supabase",
        "migrations",
        "access",
        "provisioning",
        "report",
        "settings",
        "fixtures",
        "suites",
        "sharding",
    },
    "adopt": BASE | {"access", "migrations"},
    "cli": BASE
    | {
        "access",
        "server",
        "inspection",
        "migrations",
        "seeding",
        "docs",
        "provisioning",
        "settings",
        "settings_file",
        "gate",
        "adopt",
        "profiling",
    },
    "legacy_imports": set(),  # finds moved modules by name only
    "expected_skips": BASE,
}


def part_of(module: str) -> str:
    """The package or top-level module of `phase3test.<part>...`."""
    return module.split(".")[1]


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("phase3test."):
            found.add(part_of(node.module))
        elif isinstance(node, ast.ImportFrom) and node.module == "phase3test":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(part_of(a.name) for a in node.names if a.name.startswith("phase3test."))
    return found


def test_every_part_is_placed_in_the_layers() -> None:
    parts = {p.stem for p in PACKAGE.iterdir() if p.name != "__init__.py" and p.name != "__pycache__"}
    assert parts == set(MAY_IMPORT)


def breaches(package: Path, may_import: dict[str, set[str]]) -> list[str]:
    """Every import of one part of `package` by another that `may_import` does not allow."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative == Path("__init__.py"):
            continue
        part = relative.parts[0].removesuffix(".py")
        found += [f"{relative} imports phase3test.{used}" for used in imports_of(path) - {part} - may_import[part]]
    return found


def test_each_part_imports_only_what_lies_below_it() -> None:
    assert breaches(PACKAGE, MAY_IMPORT) == []


def test_an_import_reaching_up_is_a_breach(tmp_path: Path) -> None:
    """The check itself can fail: server/ importing provisioning/, as janitor.py's callers once made it."""
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "target.py").write_text("from phase3test.provisioning.registry import RunDir\n")
    (tmp_path / "errors.py").write_text("from phase3test import server\n")
    assert breaches(tmp_path, MAY_IMPORT) == [
        "errors.py imports phase3test.server",
        "server/target.py imports phase3test.provisioning",
    ]
