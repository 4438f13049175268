"""pytest wiring: options, the run's lifecycle, and the fixtures (from `fixtures`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phase3test import access, api, baseline, pgtap
from phase3test.access_report import AccessReport
from phase3test.errors import Phase3TestError
from phase3test.fixtures import (  # noqa: F401  (pytest finds fixtures by module attribute)
    API_STACK,
    RUN_SERVER,
    access_matrix,
    api_database,
    api_http,
    as_role,
    data_template,
    db,
    empty_db,
    fresh_db,
    matrix_path,
    migrated_template,
    migration_chain,
    pg_databases,
    pg_provisioned,
    pg_server,
    pg_worker_databases,
    seeded_template,
    supabase_api,
    supabase_client,
    supabase_project,
)
from phase3test.migrations import discover
from phase3test.run_report import RunReport
from phase3test.seeding.model import parse_scale, parse_seed
from phase3test.server import container
from phase3test.server.process import ProcessId
from phase3test.server.registry import base_dir, new_run_id, reap_orphans
from phase3test.server.target import redacted
from phase3test.session import BACKENDS, RunServer, Settings

_WORKER_KEY = "phase3test_run"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("phase3test", "Supabase migrations on a throwaway Postgres (phase3test)")
    group.addoption("--supabase-dir", help="the project's supabase/ folder [ini: phase3test_supabase_dir]")
    group.addoption(
        "--pg-backend",
        choices=BACKENDS,
        help="where Postgres comes from: embedded (a server of the run's own, the default), external "
        "(--pg-db-url) or docker (Supabase's image, via testcontainers) [ini: phase3test_backend]",
    )
    group.addoption(
        "--pg-db-url",
        help="the external backend's server: the run creates its own databases there and drops only those "
        "[env: PHASE3TEST_DB_URL]",
    )
    group.addoption(
        "--pg-bindir", help="PostgreSQL bin folder to use [env: PHASE3TEST_PG_BINDIR, ini: phase3test_pg_bindir]"
    )
    group.addoption(
        "--pg-user",
        help="as root, the existing unprivileged user that runs Postgres (default nobody) "
        "[env: PHASE3TEST_PG_USER, ini: phase3test_pg_user]",
    )
    group.addoption(
        "--pg-keep",
        action="store_true",
        default=None,
        help="leave the server running after the run, for debugging; `phase3test down` stops it",
    )
    group.addoption(
        "--pg-base-ref",
        help="git ref whose migrations are applied in production (e.g. origin/main): files on it must stay "
        "as they are, new ones come after them [ini: phase3test_base_ref]",
    )
    group.addoption(
        "--pg-access-report",
        help="write the access matrix with its results (table x role grid, Markdown) to this file "
        "[ini: phase3test_access_report]",
    )
    parser.addini("phase3test_access_report", "where to write the access matrix results", default="")
    group.addoption(
        "--pg-report-dir",
        help="write the regression report (report.json, report.md, access-matrix.md) into this folder "
        "[ini: phase3test_report_dir]",
    )
    parser.addini("phase3test_report_dir", "where to write the regression report", default="")
    group.addoption(
        "--pg-baseline",
        help="an earlier run's report.json: the report then says what changed since (with --pg-report-dir)",
    )
    group.addoption(
        "--pg-api-url",
        help="a running Supabase stack's project URL (e.g. http://127.0.0.1:54321): the access matrix is "
        "also checked through its API [env: PHASE3TEST_API_URL]",
    )
    group.addoption(
        "--pg-api-jwt-secret",
        help="the stack's JWT secret, to sign in as any role or user [env: PHASE3TEST_JWT_SECRET]",
    )
    group.addoption(
        "--pg-api-db-url",
        help="the stack's database (read only: seeded users, expected rows) [env: PHASE3TEST_API_DB_URL]",
    )
    parser.addini("phase3test_supabase_dir", "the project's supabase/ folder", default="supabase")
    parser.addini("phase3test_base_ref", "git ref whose migrations are applied in production", default="")
    parser.addini(
        "phase3test_rls_matrix", "the access matrix (who may do what per table)", default="fixtures/rls_matrix.yaml"
    )
    parser.addini("phase3test_backend", "where Postgres comes from", default="embedded")
    parser.addini("phase3test_pg_bindir", "PostgreSQL bin folder", default="")
    parser.addini("phase3test_pg_user", "user that runs Postgres when pytest runs as root", default="")
    parser.addini(
        "phase3test_seeders", "module whose SEEDERS list seeds the template and `phase3test seed`", default=""
    )
    parser.addini("phase3test_seed", "seed of the seeded template (a non-negative integer)", default="0")
    parser.addini(
        "phase3test_seed_scale", "scale of the seeded template: small, medium, large or a number", default="small"
    )
    parser.addini("phase3test_keep_server", "leave the server running after the run", type="bool", default=False)


def settings_from(config: pytest.Config) -> Settings:
    """Command line first, then environment, then ini; ini paths are relative to the rootdir."""
    option_dir = config.getoption("supabase_dir")
    supabase_dir = (
        config.invocation_params.dir / option_dir
        if option_dir
        else config.rootpath / config.getini("phase3test_supabase_dir")
    )
    keep = config.getoption("pg_keep")
    backend = config.getoption("pg_backend") or config.getini("phase3test_backend")
    return Settings(
        supabase_dir=Path(os.path.normpath(supabase_dir)),
        backend=backend,
        bindir=config.getoption("pg_bindir")
        or os.environ.get("PHASE3TEST_PG_BINDIR")
        or config.getini("phase3test_pg_bindir")
        or None,
        pg_user=config.getoption("pg_user")
        or os.environ.get("PHASE3TEST_PG_USER")
        or config.getini("phase3test_pg_user")
        or None,
        keep=bool(keep if keep is not None else config.getini("phase3test_keep_server")),
        db_url=config.getoption("pg_db_url")
        or (os.environ.get("PHASE3TEST_DB_URL") if backend == "external" else None),
        seeders=config.getini("phase3test_seeders") or None,
        seed=parse_seed(config.getini("phase3test_seed")),
        seed_scale=parse_scale(config.getini("phase3test_seed_scale")),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unseeded: db and fresh_db clone the migrated template without seed data")
    try:
        settings = settings_from(config)
        config.stash[API_STACK] = api.stack_from(
            config.getoption("pg_api_url") or os.environ.get("PHASE3TEST_API_URL"),
            config.getoption("pg_api_jwt_secret") or os.environ.get("PHASE3TEST_JWT_SECRET"),
            config.getoption("pg_api_db_url") or os.environ.get("PHASE3TEST_API_DB_URL"),
        )
    except Phase3TestError as exc:
        raise pytest.UsageError(str(exc)) from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        shared = workerinput[_WORKER_KEY]
        run_id, owner = shared["run_id"], ProcessId.from_json(shared["owner"])
    else:
        run_id, owner = new_run_id(), ProcessId.of_self()
        reap_orphans(base_dir())  # servers of runs that died without their watchdog
        report = _path_option(config, "pg_access_report", "phase3test_access_report")
        if report:
            config.pluginmanager.register(AccessReport(report), "phase3test-access")
        folder = _path_option(config, "pg_report_dir", "phase3test_report_dir")
        if folder:
            previous = config.getoption("pg_baseline")
            try:
                earlier = baseline.load(config.invocation_params.dir / previous) if previous else None
            except Phase3TestError as exc:
                raise pytest.UsageError(str(exc)) from None
            config.pluginmanager.register(
                RunReport(folder, settings.project, settings.backend, earlier), "phase3test-report"
            )
    config.stash[RUN_SERVER] = RunServer(settings, run_id, owner)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(config), "phase3test-xdist")


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
    stack's API is configured (else one skipped test says how to configure one)."""
    if "migration" in metafunc.fixturenames:
        project = metafunc.config.stash[RUN_SERVER].settings.project
        try:
            migrations = discover(project.migrations_dir).migrations
        except Phase3TestError as exc:
            raise pytest.UsageError(str(exc)) from None
        metafunc.parametrize("migration", migrations, ids=[m.path.stem for m in migrations])
    if "access_cell" in metafunc.fixturenames:
        cells = _matrix_cells(metafunc.config)
        metafunc.parametrize("access_cell", cells, ids=[cell.id for cell in cells])
    if "api_cell" in metafunc.fixturenames:
        if metafunc.config.stash.get(API_STACK, None) is None:
            skipped = pytest.param(None, marks=pytest.mark.skip(reason=api.NOT_CONFIGURED))
            metafunc.parametrize("api_cell", [skipped], ids=["no-api"])
            return
        cells = _matrix_cells(metafunc.config)
        metafunc.parametrize("api_cell", cells, ids=[cell.id for cell in cells])


def _matrix_cells(config: pytest.Config) -> list[access.Cell]:
    path = matrix_path(config)
    try:
        return access.load(path).cells() if path.is_file() else []
    except Phase3TestError as exc:
        raise pytest.UsageError(str(exc)) from None


def _path_option(config: pytest.Config, option: str, ini: str) -> Path | None:
    """A path from the command line (relative to where pytest runs) or the ini file (relative to the rootdir)."""
    given = config.getoption(option)
    if given:
        return config.invocation_params.dir / given
    configured = config.getini(ini)
    return config.rootpath / configured if configured else None


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_SERVER, None)
    if run is not None and getattr(config, "workerinput", None) is None:
        run.shutdown()


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash[RUN_SERVER]
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
    elif provisioned.seeded:
        terminalreporter.write_line(
            f"template seeded by {settings.seeders} (seed {settings.seed}, scale {settings.seed_scale})"
        )
    for warning in provisioned.warnings:
        terminalreporter.write_line(f"warning: {warning}")
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
