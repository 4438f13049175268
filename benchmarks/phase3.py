"""A Phase 3 server for the figures that need seeded data, and throwaway clones of its migrated template."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
from ours import SHM, Toolchain, start
from scratch import Scratch

from phase3test.provisioning.registry import base_dir
from phase3test.provisioning.templates import MIGRATED_TEMPLATE
from phase3test.seeding import Seeder, load, plan
from phase3test.server import janitor
from phase3test.server.target import Target

PHASE3 = Path(__file__).resolve().parents[1] / "supabase"
SEEDERS = "phase3_seeders"


def seeders() -> list[Seeder]:
    return plan(load(SEEDERS))


@contextlib.contextmanager
def server(scratch: Scratch, prefix: str) -> Iterator[tuple[psycopg.Connection, Target]]:
    """The migrated Phase 3 server, and an admin connection to it; stopped and removed afterwards."""
    tools = Toolchain.resolve(PHASE3)
    base = base_dir(scratch.folder(prefix, SHM))
    _elapsed, provisioned, run = start(scratch, tools.provisioner(base), base)
    try:
        with psycopg.connect(provisioned.target.conninfo("template1"), autocommit=True) as admin:
            yield admin, provisioned.target
    finally:
        run.destroy()


@contextlib.contextmanager
def clone(admin: psycopg.Connection, running: Target, name: str) -> Iterator[str]:
    """A fresh clone of the migrated template; yields its DSN, drops it afterwards."""
    janitor.create_from_template(admin, name, MIGRATED_TEMPLATE)
    try:
        yield running.conninfo(name)
    finally:
        janitor.drop(admin, name)
