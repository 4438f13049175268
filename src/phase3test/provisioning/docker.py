"""The docker backend: Supabase's own Postgres image in a container of the run's, via testcontainers.

Its empty template is a copy of the image's real Supabase database (real
`auth`, `storage`, roles, pgTAP) instead of a bootstrapped one; the migrated
and seeded templates follow as on any server. The run's owner removes the
container.
"""

from __future__ import annotations

import psycopg

from phase3test.project import SupabaseProject
from phase3test.provisioning.provisioned import Provisioned
from phase3test.provisioning.remote import LABEL, connect_admin, provision_on, server_version
from phase3test.provisioning.templates import EMPTY
from phase3test.seeding.template import SeedingPlan
from phase3test.server import container
from phase3test.server.target import Target
from phase3test.supabase.platform import Platform, apply_platform


def provision_container(project: SupabaseProject, seeding: SeedingPlan | None, platform: Platform) -> Provisioned:
    """Start Supabase's Postgres image and build the run's templates in it; the container goes if this fails."""
    started = container.start()
    try:
        with connect_admin(started.url) as admin:
            target = Target(started.url, server_version(admin))

            def empty() -> None:
                container.copy_platform_database(admin, target.template(EMPTY))
                with psycopg.connect(target.conninfo(target.template(EMPTY)), autocommit=True) as conn:
                    apply_platform(conn, platform)
                target.seal(admin, target.template(EMPTY), LABEL)

            provisioned = provision_on(project, target, admin, seeding, platform, empty, f"docker ({container.IMAGE})")
    except BaseException:
        container.remove(started.id)
        raise
    provisioned.container = started.id
    return provisioned
