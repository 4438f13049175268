"""The docker backend's server: Supabase's own Postgres image, started by testcontainers.

The image brings the real `auth` and `storage` schemas, roles, extensions and
pgTAP, so nothing is bootstrapped: the run's empty template is a copy of the
image's own `postgres` database. The container listens on a random loopback
port. The run's owner removes it when the run ends, like a server of its own
(the next run or `phase3test down` if the owner was killed), not
testcontainers' reaper: under `-n auto` the process that starts it may be a
worker, and xdist lets a worker that runs out of tests exit while others
still use the server.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import psycopg

from phase3test.errors import SetupError
from phase3test.server import janitor

IMAGE = "supabase/postgres:15.14.1.167"  # what docker-compose.yml and Supabase CLI 2.117.0 use
SUPERUSER = "supabase_admin"  # on the image `postgres` is not a superuser; cloning `postgres` needs one
PLATFORM_DATABASE = "postgres"
READY_TIMEOUT = 120.0


def engine_problem() -> str | None:
    """Why no container can be started here (no testcontainers, no engine), or None."""
    try:
        from testcontainers.core.docker_client import DockerClient
    except ImportError:
        return "testcontainers is not installed (pip install 'phase3test[docker]')"
    try:
        DockerClient().client.ping()
    except Exception as exc:  # the docker SDK raises several kinds, all meaning "no engine"
        return f"no Docker engine answers ({str(exc).splitlines()[0][:160]})"
    return None


@dataclass(frozen=True)
class StartedContainer:
    id: str
    url: str  # the superuser's, on the maintenance database template1 (the `postgres` one gets cloned)


def start(image: str = IMAGE) -> StartedContainer:
    """Start the image and wait until the superuser can connect."""
    problem = engine_problem()
    if problem is not None:
        raise SetupError(f"the docker backend cannot start {image}: {problem}", hint="use the embedded backend")
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import DockerContainer

    password = secrets.token_urlsafe(18)  # the image's superusers log in with it
    container = DockerContainer(image).with_env("POSTGRES_PASSWORD", password)
    container.ports["5432/tcp"] = ("127.0.0.1",)  # type: ignore[assignment]  # docker-py: loopback, any free port
    reaper = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = True  # for this container only: the run's owner removes it
    try:
        container.start()
    finally:
        testcontainers_config.ryuk_disabled = reaper
    try:
        host, port = container.get_container_host_ip(), container.get_exposed_port(5432)
        host = "127.0.0.1" if host == "localhost" else host  # bound to IPv4 loopback; localhost may mean ::1
        url = f"postgresql://{SUPERUSER}:{password}@{host}:{port}/template1"
        _wait_ready(f"postgresql://{SUPERUSER}:{password}@{host}:{port}/{PLATFORM_DATABASE}")
    except BaseException:
        container.stop()
        raise
    return StartedContainer(container.get_container_id(), url)


def remove(container_id: str) -> None:
    """Remove the container (gone already is fine: removed by hand or by an earlier clean-up)."""
    from testcontainers.core.docker_client import DockerClient

    try:
        DockerClient().client.containers.get(container_id).remove(force=True, v=True)
    except Exception as exc:
        if "404" not in str(exc) and "No such container" not in str(exc):
            raise


def copy_platform_database(admin: psycopg.Connection, name: str) -> None:
    """`name` as a copy of the image's `postgres` database: its background workers are held off meanwhile."""
    janitor.freeze(admin, PLATFORM_DATABASE)
    try:
        deadline = time.monotonic() + 30
        while True:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                (PLATFORM_DATABASE,),
            )
            try:
                janitor.create_from_template(admin, name, PLATFORM_DATABASE)
                return
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        janitor.freeze(admin, PLATFORM_DATABASE, frozen=False)


def _wait_ready(url: str) -> None:
    """The image restarts Postgres once after its init scripts: wait until its `auth` schema is there."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                if conn.execute("select to_regclass('auth.users') is not null").fetchone() == (True,):
                    return
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise SetupError(f"{IMAGE} did not accept connections within {READY_TIMEOUT:.0f}s")
        time.sleep(1)
