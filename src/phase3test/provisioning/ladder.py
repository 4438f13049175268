"""The rungs (`server/rungs.py`), built with the templates: one walk up while the migrated template is built, one
walk down from the data head once it is.

Up: the migrated template is migrated STEP files at a time and copied to a
rung after each stretch. Down: a copy of the data head is rolled back newest
first, copied to a rung every STEP versions, until the way down closes (a
migration irreversible, without a rollback, or whose rollback fails on the
data): no rung is made below that, so a check there walks from the lowest
rung and meets the same closure, with the same message, it would have met
walking from the head. Each walk is one pass over the chain.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from phase3test.migrations.discovery import Migration
from phase3test.migrations.downward import roll_back_seeded
from phase3test.migrations.runner import MigrationError, migrate
from phase3test.project import SupabaseProject
from phase3test.server.rungs import DOWN, UP, levels, rung_name
from phase3test.server.target import Target


def climb(
    target: Target, admin: psycopg.Connection, name: str, start: str, chain: Sequence[Migration], label: str
) -> None:
    """Migrate the database `name` (a copy of the template `start`) to the head, leaving a rung of `start` every
    STEP files; a migration that fails raises, and the rungs made so far are dropped."""
    made: list[str] = []
    try:
        for keep in levels(len(chain)):
            with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
                migrate(conn, chain[:keep])
            made.append(_copy(target, admin, name, rung_name(start, UP, keep), label))
        with psycopg.connect(target.conninfo(name), autocommit=True) as conn:
            migrate(conn, chain)
    except BaseException:
        for rung in made:
            target.drop(admin, rung)
        raise


def descend(
    target: Target,
    admin: psycopg.Connection,
    head: str,
    chain: Sequence[Migration],
    project: SupabaseProject,
    label: str,
) -> None:
    """Rungs below the data head, the template `head`, rows kept, down to where the way closes."""
    walker = f"{head}_{DOWN}_walking"
    target.create(admin, walker, head)
    try:
        for keep in reversed(levels(len(chain))):
            with psycopg.connect(target.conninfo(walker), autocommit=True) as conn:
                try:
                    closed = roll_back_seeded(conn, list(chain), keep, project)
                except (MigrationError, psycopg.Error):
                    closed = "a rollback failed"  # the check that walks there fails on it, naming file and statement
            if closed:
                return
            _copy(target, admin, walker, rung_name(head, DOWN, keep), label)
    finally:
        target.drop(admin, walker)


def _copy(target: Target, admin: psycopg.Connection, source: str, rung: str, label: str) -> str:
    target.create(admin, rung, source)
    target.seal(admin, rung, label)
    return rung
