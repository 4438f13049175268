"""The external backend: a shared server someone else runs (a CI service container, a Supabase branch).

Nothing outside the run is touched there: the run builds its templates under
its own prefix, claims each database it creates (a comment naming the run,
host and owner) and drops exactly those at the end; runs from this machine
that died before cleaning up are reaped when the next one starts.
"""

from __future__ import annotations

import psycopg

from phase3test.errors import SetupError
from phase3test.project import SupabaseProject
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.remote import LABEL, connect_admin, provision_on, server_version
from phase3test.provisioning.templates import build_empty
from phase3test.seeding.template import SeedingPlan
from phase3test.server.target import Claim, Target, drop_abandoned, redacted
from phase3test.supabase.platform import Platform


def provision_external(
    project: SupabaseProject, url: str, claim: Claim, seeding: SeedingPlan | None, platform: Platform
) -> Provisioned:
    """Build the run's templates on the shared server at `url`, each claimed by the run."""
    with connect_admin(url) as admin:
        _require_createdb(admin, url)
        drop_abandoned(admin)
        target = Target(url, server_version(admin), prefix=shared_prefix(claim.run_id), claim=claim)
        return provision_on(
            project, target, admin, seeding, platform, lambda: build_empty(target, admin, LABEL, platform), "external"
        )


def shared_prefix(run_id: str) -> str:
    """A run's database names on a shared server: short enough for Postgres' 63 bytes with any purpose."""
    return f"p3t_{run_id[:8]}"


def release(url: str, claim: Claim) -> list[str]:
    """Drop every database the run claimed on the shared server (whether or not its start was recorded)."""
    with connect_admin(url) as admin:
        return Target(url, "", shared_prefix(claim.run_id), claim).drop_own(admin)


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
