"""What `pip install phase3test` installs: the framework, and no table, function or role of the Phase 3 schema
(those belong to this repository's project, in supabase/ and fixtures/)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
API_ROLES = {"anon", "authenticated", "service_role"}
# Words the framework uses in their ordinary sense; as Phase 3 names they are still caught schema-qualified.
ORDINARY_WORDS = {"users", "admin", "security"}


def phase3_names() -> set[str]:
    """Tables, functions and app roles the Phase 3 access matrix declares, plus their qualified forms."""
    matrix = yaml.safe_load((REPO / "fixtures" / "rls_matrix.yaml").read_text())
    tables = [name for name in matrix["tables"] if name.startswith("public.")]
    functions = [signature.split("(")[0] for signature in matrix["functions"]]
    qualified = set(tables) | set(functions)
    bare = {name.split(".")[1] for name in qualified} | (set(matrix["roles"]) - API_ROLES)
    return qualified | (bare - ORDINARY_WORDS) | {"equipment-media"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the package's sources (the checkout stays untouched)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "docs/package.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."]
    subprocess.run(command, cwd=source, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("phase3test-*.whl")
    return built


def test_the_wheel_holds_the_framework_and_its_data_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("phase3test/plugin.py", "phase3test/settings.py", "phase3test/supabase/bootstrap.sql",
                     "phase3test/suites/test_access.py", "phase3test/seeding/engine.py",
                     "phase3test/supabase/doubles/pg_net.control",
                     "phase3test/supabase/doubles/supabase_vault--0.3.1.sql"):  # fmt: skip
        assert expected in names
    assert not [name for name in names if "phase3_seeders" in name or "/phase3/" in name]


def test_the_wheel_names_no_phase3_table_function_or_role(wheel: Path) -> None:
    pattern = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, sorted(phase3_names()))) + r")(?![\w-])")
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", errors="replace")
            found += [f"{name}: {match.group(0)}" for match in pattern.finditer(text)]
    assert found == []


def test_the_check_would_see_a_phase3_name() -> None:
    """The names are real: the Phase 3 migrations use them (an empty list would pass the test above)."""
    migrations = "\n".join(p.read_text() for p in (REPO / "supabase" / "migrations").glob("*.sql"))
    assert {"public.bookings", "financial_ledger", "pricing_service", "equipment-media"} <= phase3_names()
    missing = [name for name in phase3_names() if name.split(".")[-1] not in migrations]
    assert missing == []
