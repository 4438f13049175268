"""A PostgreSQL server started apart from phase3test's backends, as a CI service container would be."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fix_homes import shared_tempdir

from phase3test.server import executor
from phase3test.server.binaries import resolve
from phase3test.server.process import ProcessId
from phase3test.server.runas import reachable_binaries, resolve_user

# A PostgreSQL server started apart from phase3test's backends, as a CI service container would be:
# a plain cluster (no Supabase roles) with password authentication over TCP, a superuser, a role that
# may not create databases, and a database of someone else's (`customer_data`) no run may touch.

PASSWORD = "outside-s3cret"
FOREIGN_DATABASE = "customer_data"
FOREIGN_ROWS = [(1, "Ada"), (2, "Grace"), (3, "Linus")]


@dataclass(frozen=True)
class OutsideServer:
    port: int
    password: str = PASSWORD
    foreign_database: str = FOREIGN_DATABASE

    def url(self, user: str = "postgres", dbname: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def databases(self) -> set[str]:
        with self.admin() as admin:
            return {row[0] for row in admin.execute("select datname from pg_database")}

    def foreign_rows(self) -> list[tuple[int, str]]:
        with psycopg.connect(self.url(dbname=FOREIGN_DATABASE)) as conn:
            return [(int(r[0]), str(r[1])) for r in conn.execute("select id, name from customers order by id")]


@pytest.fixture(scope="session")
def outside_server() -> Iterator[OutsideServer]:
    """Started once per worker by the test itself, with initdb and postgres; stopped at the end."""
    folder = shared_tempdir("p3t-outside-")
    run_as = resolve_user(None)
    binaries = reachable_binaries(resolve(None, 15).binaries, run_as, folder / "bin")
    datadir = folder / "data"
    executor.initdb(binaries, datadir, run_as)
    server = executor.start(binaries, datadir, folder, run_as, ProcessId.of_self(), [folder])
    try:
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            admin.execute(f"alter role postgres password '{PASSWORD}'")
            admin.execute(f"create role reader login password '{PASSWORD}'")
            admin.execute(f"create database {FOREIGN_DATABASE}")
            with psycopg.connect(server.conninfo(FOREIGN_DATABASE), autocommit=True) as conn:
                conn.execute("create table customers (id int primary key, name text not null)")
                conn.cursor().executemany("insert into customers values (%s, %s)", FOREIGN_ROWS)
            (datadir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
            admin.execute("select pg_reload_conf()")
        yield OutsideServer(server.port)
    finally:
        executor.stop(server)
        shutil.rmtree(folder, ignore_errors=True)
