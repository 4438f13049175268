"""Servers this machine did not start (a shared one, a container): connecting, and building the run's
templates there.

Nothing is cached on such a server: every template is built for the run and
labelled so. A failing migration is kept, as on a server of our own; any
other failure takes everything the run built there with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from phase3test.errors import SetupError
from phase3test.migrations.discovery import discover
from phase3test.migrations.runner import MigrationError
from phase3test.project import SupabaseProject
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.templates import build_migrated, build_rungs_down, build_seeded
from phase3test.seeding.template import SeedingPlan
from phase3test.server.target import Target, redacted
from phase3test.supabase.platform import Platform

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


def server_version(admin: psycopg.Connection) -> str:
    row = admin.execute("show server_version").fetchone()
    assert row is not None
    return str(row[0]).split()[0]


def provision_on(
    project: SupabaseProject,
    target: Target,
    admin: psycopg.Connection,
    seeding: SeedingPlan | None,
    platform: Platform,
    build_empty_template: Callable[[], None],
    source: str,
) -> Provisioned:
    """Empty, migrated and seeded templates on `target`; `build_empty_template` makes the first, as the
    backend does it."""
    project.check_readable()
    discovery = discover(project.migrations_dir)
    started = time.perf_counter()
    error: MigrationError | None = None
    seed_error: str | None = None
    try:
        build_empty_template()
        build_migrated(target, admin, discovery, LABEL, platform)
        if seeding is not None:
            seed_error = build_seeded(target, admin, seeding, LABEL)
        if seed_error is None:
            build_rungs_down(target, admin, discovery, project, platform, seeding is not None, LABEL)
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
