"""The pool of clones: databases made ahead of need by the run's owner and handed to tests in a millisecond.

Cloning a template takes 10-20 ms (`CREATE DATABASE ... TEMPLATE`, with its
checkpoints) and dropping the clone a few more; a test waits for both. With a
pool, the run's owner (`provisioning/pool_keeper.py`) keeps a few clones of
each template tests ask for ready under a name of the pool's; a test takes one
by renaming it to its own name, which Postgres does atomically (two workers
racing for the same clone: one rename finds it gone and tries the next), and
hands it back with a notice: the owner drops it, or puts it back in the pool
when the test left it as it was cloned (`unchanged.py`), all away from the
tests. Owner and workers speak through the server alone (names and LISTEN /
NOTIFY), so any backend and any number of workers share one pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg
from psycopg import sql

NAME_BYTES = 63  # Postgres' longest identifier (NAMEDATALEN - 1)
READY, STAGED = "pool", "prep"  # handed out next / being made or checked by the owner
SEPARATOR = "__"


def channel(prefix: str) -> str:
    """The LISTEN / NOTIFY channel of a run's pool (a run's database prefix is unique on its server)."""
    return f"{prefix}_pool"


def keeper(prefix: str) -> str:
    """The `application_name` of the keeper's session: workers hand clones back only while it is there."""
    return f"phase3test pool {prefix}"


def owned_name(template: str, state: str, serial: int) -> str | None:
    """The pool's name for the `serial`-th clone of `template` it holds in `state` (None: too long a name)."""
    name = f"{_owned_prefix(template, state)}{serial}"
    return name if len(name.encode()) <= NAME_BYTES else None


def is_owned(name: str, template: str, state: str) -> bool:
    """Whether `name` is the pool's name for a clone of `template` in `state`."""
    start = _owned_prefix(template, state)
    return name.startswith(start) and name[len(start) :].isdigit()


def _owned_prefix(template: str, state: str) -> str:
    return f"{template}{SEPARATOR}{state}_"


@dataclass(frozen=True)
class Notice:
    """What a worker tells the owner: it wants clones of `template` (and took the ready clone `took`, or none was
    ready), or it is done with `returned`, a clone of `template`."""

    template: str
    took: str | None = None
    returned: str | None = None

    def payload(self) -> str:
        return json.dumps({"template": self.template, "took": self.took, "returned": self.returned})

    @classmethod
    def parse(cls, payload: str) -> Notice | None:
        """The notice in a notification's payload; None for one that names no database as phase3test would."""
        try:
            body = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        template, took, returned = body.get("template"), body.get("took"), body.get("returned")
        if not isinstance(template, str) or not _database_name(template):
            return None
        if not all(name is None or (isinstance(name, str) and _database_name(name)) for name in (took, returned)):
            return None
        return cls(template, took, returned)


def _database_name(name: str) -> bool:
    return 0 < len(name.encode()) <= NAME_BYTES and "\0" not in name


def take(admin: psycopg.Connection, prefix: str, template: str, name: str) -> bool:
    """Rename a ready clone of `template` to `name` if the pool holds one, and ask the owner for more either way
    (a miss tells it which template is wanted)."""
    rows = admin.execute(
        "select datname from pg_database where starts_with(datname, %s) order by oid",
        (_owned_prefix(template, READY),),
    ).fetchall()
    took = None
    for ready in (name for (name,) in rows if is_owned(name, template, READY)):
        try:
            rename(admin, ready, name)
        except (psycopg.errors.InvalidCatalogName, psycopg.errors.ObjectInUse):
            continue  # another worker took it first, or someone is connected to it
        took = ready
        break
    admin.execute("select pg_notify(%s, %s)", (channel(prefix), Notice(template, took=took).payload()))
    return took is not None


def give_back(admin: psycopg.Connection, prefix: str, template: str, name: str) -> bool:
    """Hand `name`, a clone of `template`, to the owner, who drops it or, unchanged, pools it again; False when
    no keeper listens (it stopped): the caller drops it."""
    row = admin.execute(
        """select pg_notify(%s, %s)
             from pg_stat_activity where application_name = %s limit 1""",
        (channel(prefix), Notice(template, returned=name).payload(), keeper(prefix)),
    ).fetchone()
    return row is not None


def rename(admin: psycopg.Connection, name: str, to: str) -> None:
    """Rename a database; Postgres waits (up to 5 s) for its last sessions to end, and refuses while one is
    connected (`ObjectInUse`)."""
    admin.execute(sql.SQL("alter database {} rename to {}").format(sql.Identifier(name), sql.Identifier(to)))
