"""The gate at a real company's size: `phase3test check` on generated projects of growing length, timed whole and
taken apart.

Each size gets a project written by `generated_project` and a cold home (the
cache empty, as on a fresh CI runner), then one `phase3test check` with the
probe plugin (`gate_probe`) loaded. Where the wall time went, as shares of it:
the server and templates (the slowest worker's wait for them), databases made
for tests (clones and their drops, spread over the workers), each suite (its
tests' time less those two, spread over the workers), and the rest: pytest
and xdist (collection, starting workers, uneven shares, the report). The
chain walk (per-migration suites taking the seeded head down to each
migration) is linear when a per-migration test's median time does not grow
with the chain: that figure is shown per suite and size.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from generated_project import write_project
from measure import duration
from scratch import Scratch

HERE = Path(__file__).resolve().parent
PHASE3TEST = str(Path(sys.executable).parent / "phase3test")
CLI = HERE.parent / "node_modules" / ".bin" / "supabase"
GATE_TIMEOUT = 3 * 3600
PER_MIGRATION = ("test_idempotency.py", "test_rollbacks.py", "test_reruns.py", "test_profile.py", "test_static.py")


def measure_gate_scale(scratch: Scratch, sizes: tuple[int, ...], progress: Any) -> dict[str, Any]:
    """{size: figures} for a gate on a generated project of each size; the middle size again without the pool of
    clones (its figures under "pool_off"), as today's path to compare with."""
    measured = {str(size): _one_gate(scratch, size, progress) for size in sizes}
    middle = sorted(sizes)[len(sizes) // 2]
    measured[str(middle)]["pool_off"] = _one_gate(scratch, middle, progress, pool=False)
    return measured


def _one_gate(scratch: Scratch, size: int, progress: Any, pool: bool = True) -> dict[str, Any]:
    folder = scratch.folder(f"p3t-bench-gate-{size}-", None)
    tables = write_project(folder, size)
    home = scratch.folder("p3t-bench-gate-home-", "/dev/shm" if os.path.isdir("/dev/shm") else None)
    probe = folder / "probe"
    probe.mkdir()
    env = {
        **os.environ,
        "PHASE3TEST_HOME": str(home),
        "GATE_PROBE_DIR": str(probe),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    if CLI.is_file():  # the advisors' lints too, as a project with the CLI installed gets them
        env.setdefault("PHASE3TEST_SUPABASE_CLI", str(CLI))
    if not pool:
        env["PHASE3TEST_POOL"] = "0"
    progress(f"gate on {size} generated migrations ({len(tables)} tables){'' if pool else ', without the pool'}")
    command = [PHASE3TEST, "check", "--report-dir=reports", "--pytest-arg=-p", "--pytest-arg=gate_probe"]
    cpu, started = machine_cpu_seconds(), time.perf_counter()
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=GATE_TIMEOUT)
    wall, cpu = time.perf_counter() - started, machine_cpu_seconds() - cpu
    report = json.loads((folder / "reports" / "report.json").read_text())
    counts = json.loads((probe / "pool.json").read_text()) if (probe / "pool.json").is_file() else None
    return {"migrations": size, "tables": len(tables), "wall_s": wall, "cpu_s": cpu, "exit": result.returncode,
            "outcome": report["outcome"], "totals": report["totals"], "pool": counts,
            **_breakdown(probe, wall)}  # fmt: skip


def machine_cpu_seconds() -> float:
    """CPU time the whole machine spent busy so far (every process: pytest, its workers, the server's
    backends), from /proc/stat; the benchmark runs alone, so a difference is the gate's."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _breakdown(probe: Path, wall: float) -> dict[str, Any]:
    """Where the gate's wall time went, from the probe's lines (one file per worker)."""
    workers = [[json.loads(line) for line in path.read_text().splitlines()] for path in sorted(probe.glob("*.jsonl"))]
    count = len(workers) or 1
    server = max((sum(line.get("server", 0.0) for line in lines) for lines in workers), default=0.0)
    databases = walk = 0.0
    handouts: list[float] = []
    suites: dict[str, float] = defaultdict(float)
    per_test: dict[str, list[dict[str, float]]] = defaultdict(list)
    for line in (line for lines in workers for line in lines):
        spent = line.get("setup", 0.0) + line.get("call", 0.0) + line.get("teardown", 0.0) - line.get("server", 0.0)
        suite = line["test"].split("::")[0].rsplit("/", 1)[-1]
        databases += line.get("database", 0.0)
        handouts += line.get("handouts", [])
        walk += line.get("walk", 0.0)
        suites[suite] += spent - line.get("database", 0.0)
        per_test[suite].append({"s": spent, "walk": line.get("walk", 0.0), "files": line.get("files", 0)})
    shares = {suite: seconds / count for suite, seconds in sorted(suites.items())}
    return {
        "workers": count,
        "server_templates_s": server,
        "databases_s": databases / count,
        "handouts": len(handouts),
        "handout_median_s": statistics.median(handouts) if handouts else None,
        "walk_s": walk / count,
        "suites_s": shares,
        "overhead_s": wall - server - databases / count - sum(shares.values()),
        "per_test": {
            suite: {key: statistics.median(t[key] for t in tests) for key in ("s", "walk", "files")}
            for suite, tests in sorted(per_test.items())
        },
        "tests": {suite: len(tests) for suite, tests in sorted(per_test.items())},
    }


def render(measured: dict[str, Any]) -> list[str]:
    """The gate's wall time per size with its breakdown; per suite, its share and its median test's figures."""
    if not measured:
        return []
    sizes = list(measured)
    head = f"  {'':<28}" + "".join(f"{size + ' migrations':>18}" for size in sizes)
    lines = [
        "the gate at scale (generated projects, a cold cache each; one run per size; shares of the wall time):",
        head,
        _line("wall time", [duration(measured[s]["wall_s"]) for s in sizes]),
        _line("tests", [f"{sum(measured[s]['totals'].values()):,} {measured[s]['outcome']}" for s in sizes]),
        _line("server and templates", [duration(measured[s]["server_templates_s"]) for s in sizes]),
        _line("databases made for tests", [duration(measured[s]["databases_s"]) for s in sizes]),
        _line("  handout, median", [_handout(measured[s]) for s in sizes]),
        _line("pytest and xdist", [duration(measured[s]["overhead_s"]) for s in sizes]),
        _line("suites (below), of which", [duration(sum(measured[s]["suites_s"].values())) for s in sizes]),
        _line("  files run walking the chain", [duration(measured[s]["walk_s"]) for s in sizes]),
    ]
    suites = sorted({suite for s in sizes for suite in measured[s]["suites_s"]})
    for suite in suites:
        lines.append(_line(f"  {suite}", [duration(measured[s]["suites_s"].get(suite, 0.0)) for s in sizes]))
    lines += [
        "",
        "  one test of a per-migration suite, medians: time / files run walking the chain (flat: the walk is linear;",
        "  the time also grows with the schema each snapshot reads):",
        head + f"{'growth':>9}",
    ]
    for suite in (s for s in suites if s in PER_MIGRATION):
        figures = [measured[s]["per_test"].get(suite) for s in sizes]
        cells = [f"{duration(f['s'])} / {f['files']:g}" if f else "-" for f in figures]
        lines.append(_line(suite, cells) + _growth(sizes, [f["s"] if f else None for f in figures]))
    return [*lines, *_pool_compared(measured), ""]


def _handout(figures: dict[str, Any]) -> str:
    median = figures.get("handout_median_s")
    return f"{duration(median)} ({figures['handouts']:,})" if median is not None else "-"


def _made(figures: dict[str, Any]) -> str:
    """Clones the run made with the pool: ahead by its keeper, and by tests that found none ready."""
    counts = figures.get("pool")
    if not counts:
        return "-"
    return f"{counts['made'] + counts['missed']:,} ({counts['reused']} reused)"


def _pool_compared(measured: dict[str, Any]) -> list[str]:
    """The same gate with and without the pool of clones: wall time, the machine's CPU, the tests' wait."""
    size = next((s for s in measured if "pool_off" in measured[s]), None)
    if size is None:
        return []
    on, off = measured[size], measured[size]["pool_off"]
    rows = [
        ("wall time", duration(off["wall_s"]), duration(on["wall_s"])),
        ("CPU, whole machine", duration(off["cpu_s"]), duration(on["cpu_s"])),
        ("databases made for tests", duration(off["databases_s"]), duration(on["databases_s"])),
        ("handout, median (count)", _handout(off), _handout(on)),
        ("clones made", f"{off['handouts']:,}", _made(on)),
        (
            "tests",
            f"{sum(off['totals'].values()):,} {off['outcome']}",
            f"{sum(on['totals'].values()):,} {on['outcome']}",
        ),
    ]
    return [
        "",
        f"  the pool of clones at {size} migrations: the same gate without it (clone and drop in the test) and with it",
        f"  {'':<28}{'without':>18}{'with the pool':>18}",
        *(_line(label, [without, with_pool]) for label, without, with_pool in rows),
    ]


def _line(label: str, cells: list[str]) -> str:
    return f"  {label:<28}" + "".join(f"{cell:>18}" for cell in cells)


def _growth(sizes: list[str], medians: list[float | None]) -> str:
    """k in time ∝ migrations^k between the smallest and largest size: ~0 flat (linear chain), ~1 quadratic."""
    known = [(int(size), m) for size, m in zip(sizes, medians, strict=True) if m]
    if len(known) < 2 or known[0][0] == known[-1][0]:
        return ""
    (small, t_small), (large, t_large) = known[0], known[-1]
    return f"{'n^' + format(math.log(t_large / t_small) / math.log(large / small), '.2f'):>9}"
