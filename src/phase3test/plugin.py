"""pytest wiring: options (from `settings`), the run's lifecycle, and the fixtures (from `fixtures`)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from phase3test import expected_skips, sharding
from phase3test import settings as phase3test_settings
from phase3test.access import matrix, rls_cost
from phase3test.errors import Phase3TestError
from phase3test.fixtures import (
    API_STACK,
    REPORTED_PARTS,
    RUN_SERVER,
    SETUP_PARTS,
    ChainBroken,
    checked_by,
    matrix_path,
    suite_of,
)
from phase3test.migrations.adoption import OFF
from phase3test.migrations.discovery import discover
from phase3test.migrations.runner import MigrationError
from phase3test.provisioning.pool_keeper import PoolKeeper
from phase3test.provisioning.registry import base_dir, new_run_id, reap_orphans
from phase3test.provisioning.run import RunServer, seeding_plan
from phase3test.provisioning.templates import in_their_era
from phase3test.report import baseline
from phase3test.report.access_grid import AccessReport
from phase3test.report.outcomes import NOT_RUN_PREFIX, SKIPPED, outcome_of, skip_reason
from phase3test.report.regression import SETUP_ERROR, RunReport
from phase3test.server import container
from phase3test.server.extension_files import FOLDER as EXTENSIONS_FOLDER
from phase3test.server.process import ProcessId
from phase3test.server.target import redacted
from phase3test.settings import DEFAULT
from phase3test.suites import pgtap
from phase3test.supabase import api

pytest_plugins = ["phase3test.fixtures"]
_WORKER_KEY = "phase3test_run"
EXPECTED_SKIPS = pytest.StashKey[expected_skips.ExpectedSkips | None]()
SHARD_DURATIONS = pytest.StashKey[dict[str, float] | None]()
POOL_KEEPER = pytest.StashKey[PoolKeeper]()


def pytest_addoption(parser: pytest.Parser) -> None:
    phase3test_settings.add_to_pytest(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unseeded: db and fresh_db clone the migrated template without seed data")
    config.addinivalue_line(
        "markers", "cause(*parts): the test that fails when these parts (server, migrations, seeding) fail; "
        "with it in the session, the other tests they stop are reported as not run"
    )  # fmt: skip
    try:
        settings = phase3test_settings.resolve(config)
        config.stash[API_STACK] = api.stack_from(settings.api_url, settings.api_jwt_secret, settings.api_db_url)
    except Phase3TestError as exc:
        raise pytest.UsageError(str(exc)) from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        shared = workerinput[_WORKER_KEY]
        run_id, owner = shared["run_id"], ProcessId.from_json(shared["owner"])
    else:
        run_id, owner = new_run_id(), ProcessId.of_self()
        try:
            _start_the_run(config, settings)
        except Phase3TestError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[RUN_SERVER] = RunServer(settings, run_id, owner)
    if workerinput is None:
        try:  # once, before any test: an unreachable home or a missing extension would fail each test instead
            config.stash[RUN_SERVER].check_home()
            config.stash[RUN_SERVER].check_extensions()
        except Phase3TestError as exc:
            raise pytest.UsageError(str(exc)) from None
    try:
        pinned = expected_skips.load(settings.expected_skips) if settings.expected_skips else None
    except Phase3TestError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[EXPECTED_SKIPS] = pinned
    if pinned is not None and workerinput is None:
        config.pluginmanager.register(_SkipsSeen(pinned), "phase3test-skips")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(config), "phase3test-xdist")


def _start_the_run(config: pytest.Config, settings: phase3test_settings.Settings) -> None:
    """The controller's part: warnings about renamed settings, reaping dead runs, the report plugins."""
    for notice in settings.renamed:
        config.issue_config_time_warning(pytest.PytestDeprecationWarning(notice), stacklevel=2)
    reap_orphans(base_dir(settings.home))  # servers of runs that died without their watchdog
    if settings.access_report:
        config.pluginmanager.register(AccessReport(settings.access_report), "phase3test-access")
    shard = settings.shard.to_json(_shard_durations(config, settings)) if settings.shard else None
    if settings.report_dir:
        earlier = baseline.load(settings.baseline) if settings.baseline else None
        report = RunReport(
            settings.report_dir, settings.project, settings.backend, earlier, shard, lambda: _version(config)
        )
        config.pluginmanager.register(report, "phase3test-report")


def _version(config: pytest.Config) -> str | None:
    """The run's server version, when it started."""
    provisioned = config.stash[RUN_SERVER].started() if RUN_SERVER in config.stash else None
    return provisioned.target.version if provisioned else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test stopped by a broken chain another test reports is not run, rather than failed again; with
    expected skips configured, a skip they do not list fails its test (in the process that ran it)."""
    report = yield
    broken = _chain_broken(item, call.excinfo.value if call.excinfo is not None else None)
    if broken is not None and broken.reported_elsewhere(item):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"{NOT_RUN_PREFIX}{broken.reason}")
    elif broken is not None and broken.part in SETUP_PARTS:
        report.user_properties.append((SETUP_ERROR, str(broken.msg)))
    pinned = item.config.stash.get(EXPECTED_SKIPS, None)
    if pinned is not None and outcome_of(report) == SKIPPED and not hasattr(report, "wasxfail"):
        problem = pinned.unexpected(report.nodeid, skip_reason(report))
        if problem:
            report.outcome = "failed"
            report.longrepr = problem
    return report


def _chain_broken(item: pytest.Item, error: BaseException | None) -> ChainBroken | None:
    """The broken chain that stopped a test: a fixture's, or the migration error the template's build met, met
    again by a test that migrates a database itself."""
    if isinstance(error, ChainBroken):
        return error
    if isinstance(error, MigrationError):
        provisioned = item.config.stash[RUN_SERVER].started()
        met = provisioned.migration_error if provisioned else None
        if met is not None and met.located() == error.located():
            return ChainBroken.of(error)
    return None


class _SkipsSeen:
    """The controller's view: expected skips whose tests ran without skipping are named at the end (not failed:
    a base ref or a stack makes some run)."""

    def __init__(self, pinned: expected_skips.ExpectedSkips) -> None:
        self.pinned = pinned
        self.ran: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.ran.add(report.nodeid)
        if outcome_of(report) == SKIPPED:
            self.pinned.unexpected(report.nodeid, skip_reason(report))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for entry in self.pinned.never_seen():
            if any(entry.matches(test, entry.reason) for test in self.ran):
                terminalreporter.write_line(f"phase3test: expected skip did not happen: {entry.test} ({entry.reason})")


class _XdistHooks:
    """Hands the controller's run id and identity to every worker."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: object) -> None:
        run = self.config.stash[RUN_SERVER]
        node.workerinput[_WORKER_KEY] = {"run_id": run.run_id, "owner": run.owner.to_json()}  # type: ignore[attr-defined]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """pgTAP files: every `*.sql` under the project's supabase/tests/ is one test."""
    tests_dir = parent.config.stash[RUN_SERVER].settings.project.root / "tests"
    if pgtap.is_pgtap_file(file_path, tests_dir):
        return pgtap.PgTapFile.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`migration`: once per file of the project's migrations folder (ids: file stems).
    `access_cell`: once per cell of the access matrix (ids: table-role-operation); `api_cell` too, when a
    stack's API is configured (else one skipped test says how to configure one). `readable_table`: once per
    table of the matrix a signed-in role may read."""
    if "migration" in metafunc.fixturenames:
        run = metafunc.config.stash[RUN_SERVER]
        try:
            every = in_their_era(discover(run.settings.project.migrations_dir).migrations, run.platform)
            migrations = checked_by(metafunc.config, suite_of(metafunc.module.__name__), every)
        except Phase3TestError as exc:
            raise pytest.UsageError(str(exc)) from None
        if every and not migrations:
            reason = f"every migration is history ({run.history.why}); this suite checks the new ones"
            metafunc.parametrize("migration", [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                                 ids=["no-new-migrations"])  # fmt: skip
            return
        metafunc.parametrize("migration", migrations, ids=[m.path.stem for m in migrations])
    if "access_cell" in metafunc.fixturenames:
        metafunc.parametrize("access_cell", _matrix_cells(metafunc.config))
    if "readable_table" in metafunc.fixturenames:
        metafunc.parametrize("readable_table", _readable_tables(metafunc.config))
    if "api_cell" in metafunc.fixturenames:
        if metafunc.config.stash.get(API_STACK, None) is None:
            skipped = pytest.param(None, marks=pytest.mark.skip(reason=api.NOT_CONFIGURED))
            metafunc.parametrize("api_cell", [skipped], ids=["no-api"])
            return
        metafunc.parametrize("api_cell", _matrix_cells(metafunc.config))


@pytest.hookimpl(trylast=True)  # after every other selection (-k, -m): what is left is the gate's tests, whole
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Suites set to `off` (setting `suites`) are deselected: pytest counts them, none runs. Then the parts of the
    chain a test of the gate reports when they fail are noted (in each process that runs tests), and with `shard`
    only this runner's share of the tests is kept: a part whose reporting test runs on another runner is reported
    there, so here what it stops is not run, as in one run of them all."""
    settings = config.stash[RUN_SERVER].settings
    _deselect(config, items, [item for item in items if settings.suites.mode(_suite_of_item(item) or "") == OFF])
    parts = {part for item in items for marker in item.iter_markers("cause") for part in marker.args}
    config.stash[REPORTED_PARTS] = frozenset(parts)
    if settings.shard is not None:
        mine = settings.shard.select([item.nodeid for item in items], _shard_durations(config, settings))
        _deselect(config, items, [item for item in items if item.nodeid not in mine])


def _deselect(config: pytest.Config, items: list[pytest.Item], dropped: list[pytest.Item]) -> None:
    """Take `dropped` out of `items`, telling pytest (it counts them as deselected)."""
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]


def _shard_durations(config: pytest.Config, settings: phase3test_settings.Settings) -> dict[str, float] | None:
    """The tests' durations in the `shard_durations` report, read once per process (None: balance by count)."""
    if SHARD_DURATIONS not in config.stash:
        path = settings.shard_durations
        config.stash[SHARD_DURATIONS] = sharding.durations_of(baseline.load(path)) if path else None
    return config.stash[SHARD_DURATIONS]


def _suite_of_item(item: pytest.Item) -> str | None:
    if isinstance(item.parent, pgtap.PgTapFile):
        return "pgtap"
    module = getattr(item, "module", None)
    return suite_of(module.__name__) if module is not None else None


def _matrix_cells(config: pytest.Config) -> list[Any]:
    """One parameter per cell; one that the `access_matrix` fixture fails when the file does not load (the
    coverage test reports why, the suite is still counted)."""
    path = matrix_path(config)
    try:
        return [pytest.param(cell, id=cell.id) for cell in matrix.load(path).cells()] if path.is_file() else []
    except Phase3TestError:
        return [pytest.param(None, id="matrix-does-not-load")]


def _readable_tables(config: pytest.Config) -> list[Any]:
    """One parameter per table of the matrix a signed-in role may select from (ids: the table)."""
    path = matrix_path(config)
    try:
        loaded = matrix.load(path) if path.is_file() else None
    except Phase3TestError:
        return [pytest.param(None, id="matrix-does-not-load")]
    return [] if loaded is None else [pytest.param(table, id=table) for table in rls_cost.readable_tables(loaded)]


def pytest_sessionstart(session: pytest.Session) -> None:
    """The controller keeps the pool of clones (setting `pool`) from the moment the run's server is up."""
    config = session.config
    run = config.stash[RUN_SERVER]
    if getattr(config, "workerinput", None) is not None or run.settings.pool == 0 or config.option.collectonly:
        return
    keeper = PoolKeeper(lambda: provisioned.target if (provisioned := run.started()) else None, run.settings.pool)
    config.stash[POOL_KEEPER] = keeper
    keeper.start()


@pytest.hookimpl(trylast=True)  # after the session's fixtures and xdist's workers are gone: nothing is handed back
def pytest_sessionfinish(session: pytest.Session) -> None:
    _stop_pool(session.config)


def _stop_pool(config: pytest.Config) -> None:
    keeper = config.stash.get(POOL_KEEPER, None)
    if keeper is not None:
        keeper.stop()


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_SERVER, None)
    if run is not None and getattr(config, "workerinput", None) is None:
        _stop_pool(config)  # when the session did not get to finish (a usage error, an internal error)
        run.shutdown()


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash[RUN_SERVER]
    lines = [*_server_header(config, run), f"phase3test: {run.platform.describe()}"]
    if run.settings.adopted_at or run.settings.base_ref:
        try:
            migrations = discover(run.settings.project.migrations_dir).migrations
            lines.append(f"phase3test: {run.history.describe(migrations)}")
        except Phase3TestError as exc:
            lines.append(f"phase3test: {exc}")
    if config.get_verbosity() > 0:  # what `phase3test settings` shows, less the defaults
        shown = run.settings.shown()
        lines += [f"phase3test:   {name} = {value} ({origin})" for name, value, origin in shown if origin != DEFAULT]
    return lines


def _server_header(config: pytest.Config, run: RunServer) -> list[str]:
    if not run.settings.supabase_dir.is_dir():
        return [f"phase3test: no supabase folder at {run.settings.supabase_dir}"]
    if run.settings.db_url:
        return [f"phase3test: external server {redacted(run.settings.db_url)}, project {run.settings.supabase_dir}"]
    if run.settings.backend == "docker":
        return [f"phase3test: docker backend ({container.IMAGE}), project {run.settings.supabase_dir}"]
    try:
        resolution = run.resolution
    except Phase3TestError as exc:
        return [f"phase3test: {exc}"]
    binaries = resolution.binaries
    lines = [
        f"phase3test: PostgreSQL {binaries.version} ({binaries.source}, {binaries.bindir}), "
        f"project {run.settings.supabase_dir}"
    ]
    plan = run.extensions
    shipped = [f.stem for f in plan.shipped if f.suffix == ".control"] if plan else []
    if shipped:
        lines.append(
            f"phase3test: installable from {EXTENSIONS_FOLDER}/ (a private copy of the server's tree): "
            + ", ".join(shipped)
        )
    if plan and plan.doubles:
        lines.append(
            f"phase3test: test doubles (the server lacks the real ones): {', '.join(plan.doubles)}; "
            "no HTTP is sent, no secret encrypted (docs/architecture.md)"
        )
    if config.get_verbosity() > 0:
        lines += [f"phase3test:   {step}" for step in resolution.steps]
    if resolution.warning:
        lines.append(f"phase3test: WARNING {resolution.warning}")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is not None:
        return
    provisioned = config.stash[RUN_SERVER].started()
    if provisioned is None:
        return
    cache = provisioned.describe_cache()
    terminalreporter.write_sep("-", "phase3test")
    terminalreporter.write_line(
        f"server ready in {provisioned.timings.get('total', 0):.2f}s ({cache}), "
        f"{len(provisioned.migrations)} migration(s), PostgreSQL {provisioned.target.version}"
    )
    settings = config.stash[RUN_SERVER].settings
    if provisioned.seed_error:
        terminalreporter.write_line(f"seeding the template FAILED: {provisioned.seed_error.splitlines()[0]}")
    elif provisioned.seeded and (plan := seeding_plan(settings)) is not None:
        terminalreporter.write_line(f"template seeded by {plan.describe()}")
    for warning in provisioned.warnings:
        terminalreporter.write_line(f"warning: {warning}")
    keeper = config.stash.get(POOL_KEEPER, None)
    if keeper is not None:
        terminalreporter.write_line(f"pool of clones: {keeper.counts.describe()}")
    if settings.keep and provisioned.target.shared:
        terminalreporter.write_line(
            f"kept: this run's databases ({provisioned.target.prefix}_*) on {redacted(provisioned.target.url)}; "
            "drop them with: phase3test down --db-url …"
        )
    elif settings.keep:
        terminalreporter.write_line(
            f"kept running: psql '{provisioned.target.conninfo()}'  (stop with: phase3test down); "
            "clone the migrated schema with: create database debug template p3t_migrated"
        )
