"""Every process a test starts has a time limit: a hang on a loaded CI machine fails that test, with the
command, instead of stalling the whole run (pytest-timeout bounds each test as well)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_FOLDERS = (REPO / "tests", REPO / "fixtures")
RUNS = {"run", "check_output", "check_call", "call", "runpytest_subprocess"}
WAITS = {"wait", "communicate"}  # with a timeout
KILLS = {"kill", "kill_all", "terminate"}  # or the process is ended whatever happens


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]


def _bounded(call: ast.Call) -> bool:
    return any(keyword.arg == "timeout" for keyword in call.keywords) or (
        isinstance(call.func, ast.Attribute) and call.func.attr == "wait" and bool(call.args)
    )


def unbounded(path: Path, root: Path = REPO) -> list[str]:
    """`subprocess.run(...)` and friends without `timeout=`, and functions that start a Popen but never wait
    for it with a limit."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for call in _calls(tree):
        attr, base = call.func.attr, call.func.value  # type: ignore[attr-defined]
        starts = attr == "runpytest_subprocess" or (
            attr in RUNS and isinstance(base, ast.Name) and base.id == "subprocess"
        )
        if starts and not _bounded(call):
            found.append(f"{path.relative_to(root)}:{call.lineno}: {attr}() without timeout=")
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        calls = _calls(function)
        names = {c.func.attr for c in calls}  # type: ignore[attr-defined]
        waits = any(c.func.attr in WAITS and _bounded(c) for c in calls)  # type: ignore[attr-defined]
        if "Popen" in names and not (waits or KILLS & names):
            where = f"{path.relative_to(root)}:{function.lineno}"
            found.append(f"{where}: {function.name} starts a Popen it neither waits for with a timeout nor kills")
    return found


def test_every_process_a_test_starts_has_a_time_limit() -> None:
    files = [path for folder in TEST_FOLDERS for path in folder.rglob("*.py") if "sample_project" not in path.parts]
    assert [problem for path in sorted(files) for problem in unbounded(path)] == []


def test_the_scan_finds_a_call_without_a_limit(tmp_path: Path) -> None:
    """The check itself can fail."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import subprocess\n\ndef f():\n    subprocess.run(['true'])\n\n"
        "def g():\n    p = subprocess.Popen(['true'])\n    p.wait()\n\n"
        "def h():\n    p = subprocess.Popen(['true'])\n    p.wait(5)\n    subprocess.run(['true'], timeout=5)\n"
    )
    problems = unbounded(sample, tmp_path)
    assert problems == [
        "test_sample.py:4: run() without timeout=",
        "test_sample.py:6: g starts a Popen it neither waits for with a timeout nor kills",
    ]
