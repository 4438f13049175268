"""The fixtures users write tests against.

- `pg_server`: the run's server (DSN, version, major, backend); on the
  external backend a server shared with others, where only the run's own
  databases (names from `pg_server.prefix`) may be touched.
- `migrated_template`: name of the template with every migration applied;
  fails every test that uses it, with the migration's error, if one fails
  (with the shipped suites in the session, one test fails and those others
  are reported as not run because of it).
- `seeded_template`: the migrated template with the project's seed data.
- `db`: a connection to this worker's clone, inside a transaction that is
  rolled back after the test (the fast path); seeded unless the test is
  marked `unseeded` or no seeders are configured.
- `fresh_db`: a new clone per test, for tests that commit or run DDL.
- `empty_db`: a new bootstrapped but unmigrated database per test.
- `as_role`: `as_role(conn, role, user=..., claims=...)`, PostgREST's prelude.
- `supabase_project`: the project under test (its supabase/ folder);
  `pg_settings`: every setting as resolved for the run.
- `migration_chain`: its migrations, oldest first; a test asking for
  `migration` runs once per file its suite checks (the plugin parametrizes
  it); `checked_migrations`: those files (setting `suites`: all, or the
  new ones after the history).
- `access_matrix`: the project's declared access per table and role; a
  test asking for `access_cell` runs once per cell of it.
- `supabase_api`, `supabase_client`, `api_database`: a running stack's API
  (`--pg-api-url`), a supabase-py client signed in as any role or user, and
  the stack's database (`--pg-api-db-url`); skipped without a stack.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from phase3test.access.matrix import Matrix
from phase3test.access.matrix import load as load_matrix
from phase3test.errors import Phase3TestError
from phase3test.migrations.adoption import NEW
from phase3test.migrations.discovery import Migration, discover
from phase3test.migrations.downward import roll_back_seeded
from phase3test.migrations.runner import MigrationError, migrate
from phase3test.project import SupabaseProject
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.run import RunServer
from phase3test.provisioning.templates import EMPTY, MIGRATED, SEEDED, in_their_era
from phase3test.server import pool, rungs
from phase3test.server.target import Target
from phase3test.settings import Settings
from phase3test.supabase import prelude
from phase3test.supabase.api import NOT_CONFIGURED, ApiStack

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class ServerInfo:
    """What a test may want to know about the server; all but the backend's name and binaries come from
    the target."""

    target: Target
    backend: str
    source: str
    bindir: Path | None  # None on a server we did not start: its binaries are not ours

    @property
    def dsn(self) -> str:
        """The admin URL (on the external backend it may carry a password: it is not in the repr)."""
        return self.target.conninfo()

    @property
    def version(self) -> str:
        return self.target.version

    @property
    def major(self) -> int:
        return self.target.major

    @property
    def port(self) -> int:
        return int(str(conninfo_to_dict(self.target.url).get("port") or 5432).split(",")[0])

    @property
    def prefix(self) -> str:
        """Every database this run creates is named `<prefix>_…`."""
        return self.target.prefix

    def conninfo(self, dbname: str = "postgres") -> str:
        return self.target.conninfo(dbname)


class DatabaseFactory:
    """Creates and drops this worker's databases; names never collide across workers or runs. With `pooled`, a
    clone is taken from the run's pool when one is ready and handed back to it after (`server/pool.py`)."""

    def __init__(self, target: Target, worker: str, pooled: bool = False) -> None:
        self.target = target
        self.worker = worker
        self.pooled = pooled
        self._counter = itertools.count(1)
        self._admin: psycopg.Connection | None = None
        self._rungs: dict[tuple[str, str], dict[int, str]] = {}
        self._templates: dict[str, str] = {}  # database -> the template it is a clone of

    @property
    def admin(self) -> psycopg.Connection:
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.target.conninfo(), autocommit=True)
        return self._admin

    def create(self, template: str, purpose: str) -> str:
        name = self.target.name(f"{purpose}_{self.worker}_{next(self._counter)}")
        if not (self.pooled and pool.take(self.admin, self.target.prefix, template, name)):
            self.target.create(self.admin, name, template)
        self._templates[name] = template
        return name

    def connect(self, name: str) -> psycopg.Connection:
        return psycopg.connect(self.target.conninfo(name), autocommit=True)

    def drop(self, name: str) -> None:
        template = self._templates.pop(name, None)
        if self.pooled and template is not None and pool.give_back(self.admin, self.target.prefix, template, name):
            return
        self.target.drop(self.admin, name)

    def rungs(self, start: str, direction: str) -> dict[int, str]:
        """The run's rungs of the template `start` (`server/rungs.py`), looked up once: they are built with the
        templates and never change while tests run."""
        if (start, direction) not in self._rungs:
            self._rungs[(start, direction)] = rungs.found(self.admin, start, direction)
        return self._rungs[(start, direction)]

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()


RUN_SERVER = pytest.StashKey[RunServer]()
API_STACK = pytest.StashKey[ApiStack | None]()
# The parts of the chain (SERVER, MIGRATIONS, SEEDING, MATRIX, PROFILE_ACCEPTED) a test of this session reports
# (marker `cause`).
REPORTED_PARTS = pytest.StashKey[frozenset[str]]()
SERVER, MIGRATIONS, SEEDING, MATRIX = "server", "migrations", "seeding", "matrix"
PROFILE_ACCEPTED = "profile_accepted"
SETUP_PARTS = (MATRIX, PROFILE_ACCEPTED)  # files of the project's configuration: a failure is a setup error (exit 2)


class ChainBroken(pytest.fail.Exception):  # type: ignore[name-defined]  # pytest.fail.Exception is its Failed
    """A part of what every test builds on (the server, the migrations, the seed data, the access matrix) failed.
    It fails the test as any setup error does, unless a test marked `cause` for that part runs in the session:
    that one then fails, and the plugin reports the others as not run because of it (`reason`)."""

    def __init__(self, part: str, message: str, reason: str) -> None:
        super().__init__(message, pytrace=False)
        self.part, self.reason = part, reason

    @classmethod
    def of(cls, error: MigrationError) -> ChainBroken:
        """The migration that does not apply, as the chain's failure."""
        where = f"{Path(error.path).name}:{error.line}:{error.column}"
        return cls(MIGRATIONS, f"migrations failed:\n{error}", f"{where} did not apply (ERROR {error.sqlstate})")

    def reported_elsewhere(self, item: pytest.Item) -> bool:
        """Whether a test other than `item` fails with this error in the session."""
        marker = item.get_closest_marker("cause")
        if marker is not None and self.part in marker.args:
            return False
        return self.part in item.config.stash.get(REPORTED_PARTS, frozenset())


def _run_server(request: pytest.FixtureRequest) -> RunServer:
    return request.config.stash[RUN_SERVER]


def _worker_id(request: pytest.FixtureRequest) -> str:
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"


@pytest.fixture(scope="session")
def pg_settings(request: pytest.FixtureRequest) -> Settings:
    """The run's resolved settings (`phase3test settings` prints the same, with where each came from)."""
    return _run_server(request).settings


@pytest.fixture(scope="session")
def supabase_project(request: pytest.FixtureRequest) -> SupabaseProject:
    """The project under test (its supabase/ folder), as configured."""
    return _run_server(request).settings.project


@pytest.fixture(scope="session")
def migration_chain(supabase_project: SupabaseProject, request: pytest.FixtureRequest) -> list[Migration]:
    """The project's migrations in the CLI's order, oldest first, each applied under the platform defaults of
    its era (setting `legacy_grants_until`)."""
    return in_their_era(discover(supabase_project.migrations_dir).migrations, _run_server(request).platform)


def suite_of(module: str) -> str | None:
    """The shipped suite a test module belongs to (`phase3test.suites.test_rollbacks` -> rollbacks)."""
    prefix = "phase3test.suites.test_"
    return module.removeprefix(prefix) if module.startswith(prefix) else None


def checked_by(config: pytest.Config, suite: str | None, migrations: list[Migration]) -> list[Migration]:
    """The migrations a suite holds to its rules: every one, or with its mode `new` those after the history."""
    run = config.stash[RUN_SERVER]
    if suite is None or run.settings.suites.mode(suite) != NEW:
        return migrations
    return run.history.new(migrations)


@pytest.fixture
def checked_migrations(request: pytest.FixtureRequest, migration_chain: list[Migration]) -> list[Migration]:
    """The migrations the requesting suite checks (setting `suites`): all, or the new ones after the history."""
    return checked_by(request.config, suite_of(request.module.__name__), migration_chain)


def matrix_path(config: pytest.Config) -> Path:
    """The access matrix file (the `rls_matrix` setting)."""
    path = config.stash[RUN_SERVER].settings.rls_matrix
    assert path is not None  # it has a default
    return path


@pytest.fixture(scope="session")
def access_matrix(request: pytest.FixtureRequest) -> Matrix:
    """The project's access matrix (`phase3test_rls_matrix`). Without one the test is skipped: the access
    suite's coverage test is the one failure that says so (`missing_matrix`); so it is for a file that does not
    load, with each problem's file:line:column (a setup error: `phase3test check` exits 2)."""
    path = matrix_path(request.config)
    if not path.is_file():
        pytest.skip(f"no access matrix at {path} (the access suite's coverage test fails on it)")
    try:
        return load_matrix(path)
    except Phase3TestError as exc:
        raise ChainBroken(MATRIX, str(exc), f"the access matrix {path.name} does not load") from None


def missing_matrix(config: pytest.Config) -> str | None:
    """Why a project has no access matrix to test, or None when it has one."""
    path = matrix_path(config)
    if path.is_file():
        return None
    return (
        f"no access matrix at {path}: every table in an exposed schema needs its access decisions; "
        "`phase3test init` writes a draft from what the database allows (docs/adopting.md; set "
        "the rls_matrix setting to use another path)"
    )


@pytest.fixture(scope="session")
def pg_provisioned(request: pytest.FixtureRequest) -> Provisioned:
    """The started server as recorded for the run (timings, cache hits, warnings); a setup error fails
    the test with its message alone (a traceback would show the server's URL, password included)."""
    try:
        return _run_server(request).get()
    except Phase3TestError as exc:
        raise ChainBroken(SERVER, str(exc), f"the server did not start: {str(exc).splitlines()[0]}") from None


@pytest.fixture(scope="session")
def pg_server(pg_provisioned: Provisioned, request: pytest.FixtureRequest) -> ServerInfo:
    return ServerInfo(
        target=pg_provisioned.target,
        backend=_run_server(request).settings.backend,
        source=pg_provisioned.binaries_source,
        bindir=Path(pg_provisioned.bindir) if pg_provisioned.bindir else None,
    )


@pytest.fixture(scope="session")
def pg_databases(pg_server: ServerInfo, request: pytest.FixtureRequest) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_server.target, _worker_id(request), pooled=_run_server(request).settings.pool > 0)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def migrated_template(pg_provisioned: Provisioned) -> str:
    if pg_provisioned.migration_error is not None:
        raise ChainBroken.of(pg_provisioned.migration_error)
    return pg_provisioned.target.template(MIGRATED)


class _WorkerDatabase:
    """This worker's clone and one connection to it, reopened if a test broke it."""

    def __init__(self, factory: DatabaseFactory, template: str) -> None:
        self.factory = factory
        self.name = factory.create(template, "worker")
        self._conn: psycopg.Connection | None = None

    def connection(self) -> psycopg.Connection:
        conn = self._conn
        if conn is None or conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
            if conn is not None:
                conn.close()
            self._conn = conn = self.factory.connect(self.name)
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self.factory.drop(self.name)


@pytest.fixture(scope="session")
def seeded_template(pg_provisioned: Provisioned, migrated_template: str) -> str:
    """The migrated template with the project's seed data (seed files, config.toml buckets, `phase3test_seeders`)."""
    if pg_provisioned.seed_error is not None:
        raise ChainBroken(
            SEEDING,
            f"seeding the template failed:\n{pg_provisioned.seed_error}",
            f"the seed data did not load: {pg_provisioned.seed_error.splitlines()[0]}",
        )
    if not pg_provisioned.seeded:
        pytest.fail(
            "no seeded template: add supabase/seed.sql or set phase3test_seeders to your seeders module, "
            "or mark the test unseeded",
            pytrace=False,
        )
    return pg_provisioned.target.template(SEEDED)


@pytest.fixture
def data_template(request: pytest.FixtureRequest, migrated_template: str, pg_provisioned: Provisioned) -> str:
    """What `db` and `fresh_db` clone: the seeded template, unless the test is marked `unseeded`
    or the project has no seed data (no seed files, buckets or seeders)."""
    seeding_planned = pg_provisioned.seeded or pg_provisioned.seed_error is not None
    if request.node.get_closest_marker("unseeded") or not seeding_planned:
        return migrated_template
    return str(request.getfixturevalue("seeded_template"))


class _WorkerDatabases:
    """This worker's clone of each template it was asked for, created on first use."""

    def __init__(self, factory: DatabaseFactory) -> None:
        self.factory = factory
        self.clones: dict[str, _WorkerDatabase] = {}

    def of(self, template: str) -> _WorkerDatabase:
        if template not in self.clones:
            self.clones[template] = _WorkerDatabase(self.factory, template)
        return self.clones[template]

    def close(self) -> None:
        for clone in self.clones.values():
            clone.close()


@pytest.fixture(scope="session")
def pg_worker_databases(pg_databases: DatabaseFactory) -> Iterator[_WorkerDatabases]:
    databases = _WorkerDatabases(pg_databases)
    yield databases
    databases.close()


@pytest.fixture
def db(pg_worker_databases: _WorkerDatabases, data_template: str) -> Iterator[psycopg.Connection]:
    """A connection inside a transaction that is always rolled back: nothing a test does survives it."""
    conn = pg_worker_databases.of(data_template).connection()
    with conn.transaction(force_rollback=True):
        yield conn


@pytest.fixture
def fresh_db(pg_databases: DatabaseFactory, data_template: str) -> Iterator[psycopg.Connection]:
    """A migrated (and, unless marked unseeded, seeded) database of the test's own, autocommit; dropped after."""
    yield from _own_database(pg_databases, data_template, "fresh")


@pytest.fixture
def empty_db(pg_databases: DatabaseFactory) -> Iterator[psycopg.Connection]:
    """A bootstrapped, unmigrated database of the test's own (autocommit), dropped afterwards."""
    yield from _own_database(pg_databases, pg_databases.target.template(EMPTY), "empty")


RolledBackTo = Callable[[int], tuple[psycopg.Connection, str]]  # the fixtures' types, for the suites' hints
MigratedTo = Callable[[int], psycopg.Connection]


@pytest.fixture
def rolled_back_to(
    pg_databases: DatabaseFactory,
    data_template: str,
    migration_chain: list[Migration],
    supabase_project: SupabaseProject,
) -> Iterator[RolledBackTo]:
    """`rolled_back_to(keep)`: a database of the test's own (autocommit, dropped after) holding what `fresh_db`
    holds rolled back, newest first, until only the first `keep` migrations are applied, with the rows that
    survive; and "" or why the way down is closed (`roll_back_seeded`). Starts from the nearest rung above."""
    with _Clones(pg_databases, rungs.DOWN, data_template) as clones:

        def at(keep: int) -> tuple[psycopg.Connection, str]:
            conn = clones.near(keep)
            return conn, roll_back_seeded(conn, migration_chain, keep, supabase_project)

        yield at


@pytest.fixture
def migrated_to(pg_databases: DatabaseFactory, migration_chain: list[Migration]) -> Iterator[MigratedTo]:
    """`migrated_to(keep)`: a database of the test's own (autocommit, dropped after), bootstrapped and migrated up
    to the first `keep` migrations, without data. Starts from the nearest rung below."""
    with _Clones(pg_databases, rungs.UP, pg_databases.target.template(EMPTY)) as clones:

        def at(keep: int) -> psycopg.Connection:
            conn = clones.near(keep)
            migrate(conn, migration_chain[:keep])
            return conn

        yield at


class _Clones:
    """A test's clones of the rung of `start` nearest each version it asks for (of `start` itself where none is
    nearer), connections closed and databases dropped when it ends."""

    def __init__(self, factory: DatabaseFactory, direction: str, start: str) -> None:
        self.factory, self.direction, self.start = factory, direction, start
        self.rungs = factory.rungs(start, direction)
        self.made: list[tuple[str, psycopg.Connection]] = []

    def near(self, keep: int) -> psycopg.Connection:
        rung = rungs.nearest(self.rungs, keep, self.direction)
        name = self.factory.create(rung[1] if rung else self.start, self.direction)
        try:
            self.made.append((name, self.factory.connect(name)))
        except BaseException:
            self.factory.drop(name)
            raise
        return self.made[-1][1]

    def __enter__(self) -> _Clones:
        return self

    def __exit__(self, *exc: object) -> None:
        for name, conn in self.made:
            conn.close()
            self.factory.drop(name)


def _own_database(factory: DatabaseFactory, template: str, purpose: str) -> Iterator[psycopg.Connection]:
    name = factory.create(template, purpose)
    try:
        with factory.connect(name) as conn:
            yield conn
    finally:
        factory.drop(name)


@pytest.fixture
def as_role() -> object:
    """`as_role(conn, role, user=None, claims=None)`: see `phase3test.supabase.prelude.as_role`."""
    return prelude.as_role


@pytest.fixture(scope="session")
def supabase_api(request: pytest.FixtureRequest) -> ApiStack:
    """The running stack's API; skips the test when none is configured, fails it when it does not answer."""
    stack = request.config.stash.get(API_STACK, None)
    if stack is None:
        pytest.skip(NOT_CONFIGURED)
    problem = stack.problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    return stack


@pytest.fixture
def supabase_client(supabase_api: ApiStack) -> Callable[..., Any]:
    """`supabase_client(role="anon", user=None)`: a supabase-py client acting as `role` (anon, authenticated,
    service_role) and, signed in, as the user with that id, with a token minted by the stack's secret."""
    return supabase_api.client


@pytest.fixture(scope="session")
def api_database(supabase_api: ApiStack, supabase_project: SupabaseProject) -> Iterator[psycopg.Connection]:
    """The stack's database, read (the session is read-only) as its superuser; it must hold every migration
    of the project."""
    if not supabase_api.db_url:
        pytest.fail("checks through the API need the stack's database: pass --pg-api-db-url", pytrace=False)
    with psycopg.connect(supabase_api.db_url, autocommit=True, options="-c default_transaction_read_only=on") as conn:
        try:
            applied = {v for (v,) in conn.execute("select version from supabase_migrations.schema_migrations")}
        except psycopg.errors.UndefinedTable:
            applied = set()
        missing = [
            m.path.name for m in discover(supabase_project.migrations_dir).migrations if m.version not in applied
        ]
        if missing:
            pytest.fail(
                f"the stack's database lacks {len(missing)} of this project's migrations (first: {missing[0]}): "
                "apply them (supabase db push --db-url …) and seed it (phase3test seed --db-url …)",
                pytrace=False,
            )
        yield conn


@pytest.fixture(scope="session")
def api_http() -> Iterator[httpx.Client]:
    import httpx  # here, not at the plugin's import: most runs never talk to a stack

    with httpx.Client(timeout=30) as client:
        yield client
