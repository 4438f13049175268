"""A run on a server we share (`--pg-backend external --pg-db-url …`).

Nothing is cached there and nothing outside the run is touched: the run
builds its templates (empty, migrated, seeded) under its own prefix, claims
each database it creates, and drops exactly those at the end. Runs from this
machine that died before cleaning up are reaped when the next one starts.
"""

from __future__ import annotations

import time

import psycopg

from phase3test.errors import SetupError
from phase3test.migrations import MigrationError, discover
from phase3test.project import SupabaseProject
from phase3test.provision import Provisioned, build_empty, build_migrated, build_seeded
from phase3test.seeding.template import SeedingPlan
from phase3test.server.target import Claim, Target, drop_abandoned, redacted

LABEL = "external"  # templates on a shared server carry the run's claim, not a cache key


def connect_admin(url: str) -> psycopg.Connection:
    """The maintenance connection, with an error that says which server refused and why."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SetupError(
            f"cannot connect to the external server {redacted(url)}: {str(exc).strip()}",
            hint="check --pg-db-url / PHASE3TEST_DB_URL and that the server is running",
        ) from None


def provision_external(project: SupabaseProject, url: str, claim: Claim, seeding: SeedingPlan | None) -> Provisioned:
    """Build the run's templates on the server at `url`; a failing migration is kept, as on our own server."""
    project.check_readable()
    discovery = discover(project.migrations_dir)
    started = time.perf_counter()
    with connect_admin(url) as admin:
        _require_createdb(admin, url)
        drop_abandoned(admin)
        version = str(admin.execute("show server_version").fetchone()[0]).split()[0]  # type: ignore[index]
        target = Target(url, version, prefix=f"p3t_{claim.run_id[:8]}", claim=claim)
        error: MigrationError | None = None
        seed_error: str | None = None
        try:
            build_empty(target, admin, LABEL)
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
        binaries_source="external",
        bindir="",
        migrations=[m.path.name for m in discovery.migrations],
        migration_error=error,
        seeded=seeding is not None and error is None and seed_error is None,
        seed_error=seed_error,
        warnings=discovery.warnings(),
        timings={"total": time.perf_counter() - started},
    )


def release(target: Target) -> list[str]:
    """Drop every database the run created on the shared server; return their names."""
    with connect_admin(target.url) as admin:
        return target.drop_own(admin)


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
