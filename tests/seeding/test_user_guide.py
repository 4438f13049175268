"""docs/seeding.md's complete example, run as a user would run it: on the sample project it was written for
(tests/samples/numbered), registered as the page says. The page cannot drift from what works."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from limits import SUBPROCESS_TIMEOUT

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "seeding.md"

ROWS_TEST = """
def test_the_guide_seeds_three_users_two_lists_each_and_items_on_every_list(db):
    assert db.execute("select count(*) from auth.users").fetchone() == (3,)
    assert db.execute("select count(*) from public.lists").fetchone() == (6,)
    assert db.execute(
        "select count(*) from public.lists l where not exists (select from public.items i where i.list_id = l.id)"
    ).fetchone() == (0,)
    # the identity sequence went past the seeded ids: the next list gets a new one
    assert db.execute(
        "insert into public.lists (owner_id, title) select id, 'new' from auth.users limit 1 returning id"
    ).fetchone() == (7,)


def test_the_same_seed_gives_the_same_rows(db):
    rows = db.execute("select string_agg(title, ',' order by id) from public.lists").fetchone()[0]
    print("LISTS=" + rows)
"""


def _block(language: str, index: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)[index]


@pytest.fixture
def guide_project(pytester: pytest.Pytester, home: Path) -> Path:
    shutil.copytree(REPO / "tests" / "samples" / "numbered", pytester.path, dirs_exist_ok=True)
    (pytester.path / "seeders.py").write_text(_block("python"))
    (pytester.path / "pytest.ini").write_text(_block("ini") + "phase3test_supabase_dir = supabase\n")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_rows.py").write_text(ROWS_TEST)
    return pytester.path


def test_the_guides_seeders_load_and_give_the_same_rows_on_every_run(pytester, guide_project, monkeypatch, home):
    runs = []
    for run in ("first", "second"):  # two homes: the second run seeds again instead of reusing the cache
        monkeypatch.setenv("PHASE3TEST_HOME", str(home / run))
        runs.append(pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "tests", timeout=SUBPROCESS_TIMEOUT))
    for result in runs:
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["*template seeded by seeders (seed 0, scale 1)*"])
    lists = [re.search(r"LISTS=(\S+)", result.stdout.str()) for result in runs]
    assert lists[0] and lists[1] and lists[0].group(1) == lists[1].group(1)
