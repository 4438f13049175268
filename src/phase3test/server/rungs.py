"""Rungs: a run's templates of the chain at every STEP-th version, so a check of one migration starts near it.

A per-migration check needs the database just before or after its migration:
the data head (seeded, or migrated when there is no seed data) rolled back to
there with its rows, or the empty template migrated up to there. Walking from
the head or from the bootstrap for each migration costs the square of the
chain; with a rung every STEP versions, each walk is at most STEP - 1
migrations long and the whole gate's walking grows with the chain, no faster.
The rungs are built with the templates (`provisioning/ladder.py`); this
module names them and finds the nearest.
"""

from __future__ import annotations

import psycopg

STEP = 10
DOWN, UP = "down", "up"  # rolled back from the data head (rows kept) / migrated up from the empty template


def rung_name(head: str, direction: str, keep: int) -> str:
    """The rung of `direction` from the template database `head` at `keep` migrations applied."""
    return f"{_prefix(head, direction)}{keep:05d}"


def _prefix(head: str, direction: str) -> str:
    return f"{head}_{direction}_"


def found(admin: psycopg.Connection, head: str, direction: str) -> dict[int, str]:
    """The rungs built from the template `head` in `direction`: migrations applied -> database."""
    prefix = _prefix(head, direction)
    rows = admin.execute("select datname from pg_database where starts_with(datname, %s)", (prefix,)).fetchall()
    return {int(name[len(prefix) :]): name for (name,) in rows if name[len(prefix) :].isdigit()}


def nearest(rungs: dict[int, str], keep: int, direction: str) -> tuple[int, str] | None:
    """The rung a walk to `keep` starts from: going down, the lowest at or above it; going up, the highest at or
    below it (None: start from the head or the bootstrap)."""
    if direction == DOWN:
        above = [k for k in rungs if k >= keep]
        return (min(above), rungs[min(above)]) if above else None
    below = [k for k in rungs if k <= keep]
    return (max(below), rungs[max(below)]) if below else None


def levels(chain_length: int) -> range:
    """Where rungs stand: every STEP-th version strictly between the bootstrap and the head."""
    return range(STEP, chain_length, STEP)
