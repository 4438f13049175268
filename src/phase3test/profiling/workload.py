"""Readers and writers on the tables a migration locks, from other connections while it runs: how long the
API would have waited, and for which lock.

Per table one reader repeats a PostgREST-style page (`select * ... limit 20`)
and one writer an update of one row to itself in a transaction it rolls back
(or, on a table with no plain column, `delete ... where false`: the table lock
a write takes, no row). Each query is timed; a sampler asks `pg_locks` every
few milliseconds what the workers wait for: a table lock (its mode) or a row
the migration's transaction holds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from phase3test.errors import SetupError

READER, WRITER = "readers", "writers"
SAMPLE_S = 0.002
ROW_LOCK = "a row the migration holds"


@dataclass
class Wait:
    """The longest one query of a kind on a table took while the migration ran, and what it waited for."""

    table: str
    kind: str  # READER or WRITER
    longest_ms: float = 0.0
    waited_for: set[str] = field(default_factory=set)  # lock modes, or ROW_LOCK
    expected_ms: float | None = None  # longest_ms carried to production's rows, when it was


class Workload:
    """Start with `with Workload(conninfo, tables) as load:`; `load.waits` once it is over. `kinds=(READER,)`
    leaves the writers out (a materialized view takes no writes)."""

    def __init__(self, conninfo: str, tables: list[str], kinds: tuple[str, ...] = (READER, WRITER)) -> None:
        self.conninfo = conninfo
        self.waits = [Wait(table, kind) for table in tables for kind in kinds]
        self.stop = threading.Event()
        self.pids: dict[int, Wait] = {}
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.ready = threading.Barrier(len(self.waits) + 2)  # the workers, the sampler, whoever starts them

    def __enter__(self) -> Workload:
        for wait in self.waits:
            self.threads.append(threading.Thread(target=self._work, args=(wait,), daemon=True))
        self.threads.append(threading.Thread(target=self._sample, daemon=True))
        for thread in self.threads:
            thread.start()
        try:
            self.ready.wait(timeout=30)  # every worker connected and has run once
        except threading.BrokenBarrierError:
            self.__exit__()
            raise SetupError(f"the readers and writers did not start: {'; '.join(self.errors)}") from None
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _work(self, wait: Wait) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                conn.execute("set statement_timeout = '60s'")
                query = _query(conn, wait)
                self.pids[conn.info.backend_pid] = wait
                first = True
                while first or not self.stop.is_set():
                    started = time.perf_counter()
                    with conn.transaction(force_rollback=True):
                        conn.execute(query)
                    wait.longest_ms = max(wait.longest_ms, (time.perf_counter() - started) * 1000)
                    if first:
                        first = False
                        self.ready.wait(timeout=30)
        except (psycopg.Error, threading.BrokenBarrierError) as exc:
            self.errors.append(f"{wait.kind} of {wait.table}: {exc}")
            self.ready.abort()

    def _sample(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            try:
                self.ready.wait(timeout=30)
            except threading.BrokenBarrierError:
                return
            while not self.stop.is_set():
                rows = conn.execute(
                    "select pid, locktype, mode from pg_locks where not granted and pid = any(%s)", (list(self.pids),)
                ).fetchall()
                for pid, locktype, mode in rows:
                    self.pids[pid].waited_for.add(ROW_LOCK if locktype in ("transactionid", "tuple") else mode)
                time.sleep(SAMPLE_S)


def _query(conn: psycopg.Connection, wait: Wait) -> sql.Composed:
    """What a worker of this kind repeats on its table."""
    schema, _, name = wait.table.partition(".")
    table = sql.Identifier(schema.strip('"'), name.strip('"'))
    if wait.kind == READER:
        return sql.SQL("select * from {} limit 20").format(table)
    row = conn.execute(
        """select attname from pg_attribute where attrelid = %s::regclass and attnum > 0 and not attisdropped
           and attidentity = '' and attgenerated = '' order by attnum limit 1""",
        (wait.table,),
    ).fetchone()
    if row is None:
        return sql.SQL("delete from {} where false").format(table)
    column = sql.Identifier(row[0])
    return sql.SQL("update {t} set {c} = {c} where ctid = (select ctid from {t} limit 1)").format(t=table, c=column)
