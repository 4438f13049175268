"""A pytest plugin the gate-at-scale benchmark loads into `phase3test check` (`-p gate_probe`): where the time of
each test went, written per process to $GATE_PROBE_DIR/<worker>.jsonl.

Each line is one test: its suite, its setup, call and teardown durations, and
within them the time spent building the run's server and templates (session
fixtures), creating and dropping databases for it (`DatabaseFactory`, behind
`fresh_db`, `empty_db`, `rolled_back_to`, `migrated_to` and each worker's
`db`; each creation's own time too: the handout), and walking the chain (every migration or rollback file run, and how
many). The run owner writes what its pool of clones did to pool.json. It only
reads clocks and counters around the real calls: the gate runs as it always
does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from phase3test import fixtures, plugin
from phase3test.migrations import runner

SERVER = {"pg_provisioned", "pg_server", "migrated_template", "seeded_template", "data_template"}
_current: list[str] = [""]  # the test whose setup, call or teardown is running
_building = [0]  # inside the server's and templates' fixtures: what they do counts as theirs
_recording = [True]  # in a process that runs tests
_spent: dict[str, dict[str, Any]] = {}  # test id -> {"server", "database", "walk", "files", "handouts"}
_lines: list[dict[str, Any]] = []


def _add(kind: str, amount: float) -> None:
    spent = _spent.setdefault(_current[0], {"server": 0.0, "database": 0.0, "walk": 0.0, "files": 0, "handouts": []})
    if kind == "handouts":
        spent[kind].append(amount)
    else:
        spent[kind] += amount


def _timed(kind: str, call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            if not _building[0]:
                _add(kind, time.perf_counter() - started)
                _add("files", kind == "walk")
                if call.__name__ == "create":  # one database handed to the test: its wait, one by one
                    _add("handouts", time.perf_counter() - started)

    return timed


def pytest_sessionstart(session: pytest.Session) -> None:
    _recording[0] = not session.config.pluginmanager.has_plugin("dsession")  # xdist's controller runs no test


def pytest_configure(config: pytest.Config) -> None:
    fixtures.DatabaseFactory.create = _timed("database", fixtures.DatabaseFactory.create)  # type: ignore[method-assign]
    fixtures.DatabaseFactory.drop = _timed("database", fixtures.DatabaseFactory.drop)  # type: ignore[method-assign]
    runner._run_script = _timed("walk", runner._run_script)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _current[0] = item.nodeid


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None]:
    server = fixturedef.argname in SERVER
    started, _building[0] = time.perf_counter(), _building[0] + server
    try:
        return (yield)
    finally:
        _building[0] -= server
        if server and not _building[0]:
            _add("server", time.perf_counter() - started)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _recording[0]:
        return
    if report.when == "setup":
        _lines.append({"test": report.nodeid, "setup": report.duration})
    elif _lines and _lines[-1]["test"] == report.nodeid:
        _lines[-1][report.when] = report.duration
    if report.when == "teardown" and _lines and _lines[-1]["test"] == report.nodeid:
        _lines[-1].update(_spent.pop(report.nodeid, {}))


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = os.environ.get("GATE_PROBE_DIR")
    keeper = session.config.stash.get(plugin.POOL_KEEPER, None)  # the run owner's, stopped by now
    if folder and keeper is not None:
        (Path(folder) / "pool.json").write_text(json.dumps(dataclasses.asdict(keeper.counts)))
    if not folder or not _lines:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (Path(folder) / f"{worker}.jsonl").open("a") as out:
        out.writelines(json.dumps(line) + "\n" for line in _lines)
