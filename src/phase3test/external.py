"""Runs on a server this machine did not start: a shared one (external) or a container (docker).

Nothing is cached there. On a shared server (`--pg-backend external
--pg-db-url …`) nothing outside the run is touched: the run builds its
templates under its own prefix, claims each database it creates and drops
exactly those at the end; runs from this machine that died before cleaning up
are reaped when the next one starts. A container (`--pg-backend docker`) is
the run's own: its empty template is a copy of the image's real Supabase
database instead of a bootstrapped one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from phase3test.errors import SetupError
from phase3test.migrations import MigrationError, discover
from phase3test.project import SupabaseProject
from phase3test.provision import EMPTY, Provisioned, build_empty, build_migrated, build_seeded
from phase3test.seeding.template import SeedingPlan
from phase3test.server import container
from phase3test.server.target import Claim, Target, drop_abandoned, redacted

LABEL = "built for one run"  # nothing is cached off this machine: no cache key to label templates with


def connect_admin(url: str) -> psycopg.Connection:
    """The maintenance connection, with an error that says which server refused and why."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SetupError(
            f"cannot connect to the external server {redacted(url)}: {str(exc).strip()}",
            hint="check --pg-db-url / PHASE3TEST_DB_URL and that the server is running",
        ) from None
    except psycopg.Error:  # its message would quote the URL, password included
        raise SetupError(
            f"the external server's URL is not a valid connection string: {redacted(url)}",
            hint="postgresql://user:password@host:5432/postgres (percent-encode special characters)",
        ) from None


def provision_external(project: SupabaseProject, url: str, claim: Claim, seeding: SeedingPlan | None) -> Provisioned:
    """Build the run's templates on the shared server at `url`, each claimed by the run."""
    with connect_admin(url) as admin:
        _require_createdb(admin, url)
        drop_abandoned(admin)
        target = Target(url, _version(admin), prefix=shared_prefix(claim.run_id), claim=claim)
        return _provision(project, target, admin, seeding, lambda: build_empty(target, admin, LABEL), "external")


def provision_container(project: SupabaseProject, seeding: SeedingPlan | None) -> Provisioned:
    """Start Supabase's Postgres image and build the run's templates in it; the container goes if this fails."""
    started = container.start()
    try:
        with connect_admin(started.url) as admin:
            target = Target(started.url, _version(admin))

            def empty() -> None:
                container.copy_platform_database(admin, target.template(EMPTY))
                target.seal(admin, target.template(EMPTY), LABEL)

            provisioned = _provision(project, target, admin, seeding, empty, f"docker ({container.IMAGE})")
    except BaseException:
        container.remove(started.id)
        raise
    provisioned.container = started.id
    return provisioned


def shared_prefix(run_id: str) -> str:
    """A run's database names on a shared server: short enough for Postgres' 63 bytes with any purpose."""
    return f"p3t_{run_id[:8]}"


def release(url: str, claim: Claim) -> list[str]:
    """Drop every database the run claimed on the shared server (whether or not its start was recorded)."""
    with connect_admin(url) as admin:
        return Target(url, "", shared_prefix(claim.run_id), claim).drop_own(admin)


def _provision(
    project: SupabaseProject,
    target: Target,
    admin: psycopg.Connection,
    seeding: SeedingPlan | None,
    build_empty_template: Callable[[], None],
    source: str,
) -> Provisioned:
    """Empty, migrated and seeded templates; a failing migration is kept, as on our own server, and
    anything else that fails takes what the run built with it."""
    project.check_readable()
    discovery = discover(project.migrations_dir)
    started = time.perf_counter()
    error: MigrationError | None = None
    seed_error: str | None = None
    try:
        build_empty_template()
        build_migrated(target, admin, discovery, LABEL)
        if seeding is not None:
            seed_error = build_seeded(target, admin, seeding, LABEL)
    except MigrationError as exc:
        error = exc
    except BaseException:
        target.drop_own(admin)  # nothing half-built stays behind (a bootstrap refused, a Ctrl-C)
        raise
    return Provisioned(
        target=target,
        server=None,
        binaries_source=source,
        bindir="",
        migrations=[m.path.name for m in discovery.migrations],
        migration_error=error,
        seeded=seeding is not None and error is None and seed_error is None,
        seed_error=seed_error,
        warnings=discovery.warnings(),
        timings={"total": time.perf_counter() - started},
    )


def _version(admin: psycopg.Connection) -> str:
    row = admin.execute("show server_version").fetchone()
    assert row is not None
    return str(row[0]).split()[0]


def _require_createdb(admin: psycopg.Connection, url: str) -> None:
    row = admin.execute(
        "select current_user, rolsuper, rolcreatedb from pg_roles where rolname = current_user"
    ).fetchone()
    assert row is not None
    user, superuser, createdb = row
    if not (superuser or createdb):
        raise SetupError(
            f"role {user} on {redacted(url)} cannot create databases",
            hint="the external backend creates its own databases there: grant CREATEDB "
            "(and use a superuser on a server without Supabase's roles, which the bootstrap creates)",
        )
