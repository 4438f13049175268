"""docs/architecture.md opens with the package's tree: every package and top-level module is listed there,
and nothing listed there is missing from the code."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "phase3test"
PAGE = REPO / "docs" / "architecture.md"


def listed_on_the_page() -> tuple[set[str], set[str]]:
    """(packages, top-level modules) in the first code block, under `src/phase3test/`."""
    block = PAGE.read_text().split("```")[1]
    lines = block.splitlines()
    start = lines.index("src/phase3test/") + 1
    packages, modules = set(), set()
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        names = line.split("  ")[1].split()
        if names[0].endswith("/"):
            packages.add(names[0].rstrip("/"))
        else:
            modules.update(name for name in names if name.endswith(".py"))
    return packages, modules


def in_the_code() -> tuple[set[str], set[str]]:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    return packages, modules


def test_the_page_opens_with_the_tree() -> None:
    assert PAGE.read_text().startswith("# Architecture\n\n```\nsrc/phase3test/\n")


def test_every_package_and_module_is_on_the_page_and_nothing_else() -> None:
    assert listed_on_the_page() == in_the_code()


def test_every_folder_of_the_package_is_a_package() -> None:
    """A folder without __init__.py would be a namespace package the page and the wheel could both miss."""
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == in_the_code()[0]


def test_the_framework_tests_mirror_the_package() -> None:
    """tests/<package>/ for every package; besides them only the Phase 3 project's own tests (phase3, gate),
    the sample project and the repository's files (repository)."""
    tests = {p.name for p in (REPO / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert tests - {"phase3", "gate", "sample_project", "samples", "repository"} == in_the_code()[0]
