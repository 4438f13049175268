"""One migration applied as the runner applies it, measured from inside its transaction.

After each statement (before the file commits) the migration's own backend
is asked which relation locks it holds (`pg_locks`), which tables now live
in a new file (`pg_relation_filenode` changed: a rewrite) and which it has
read in full (`pg_stat_xact_user_tables.seq_scan` grew: a validated
constraint, a NOT NULL check, an index build). A lock is held from the
statement that took it until the file commits, so its hold time is that
stretch; the time spent observing is left out of every figure. A file that
runs outside a transaction (`create index concurrently`) releases its locks
after each statement: its statements are timed, its locks are not seen here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import psycopg

from phase3test.migrations.discovery import Migration
from phase3test.migrations.runner import apply
from phase3test.migrations.statements import Statement, needs_autocommit
from phase3test.profiling.extrapolate import Estimate
from phase3test.profiling.grow import Growth
from phase3test.profiling.workload import Wait

# Relation lock modes, weakest first (PostgreSQL's table-level locks).
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
BLOCKS_WRITERS = MODES[MODES.index("ShareLock") :]  # conflicts with the RowExclusiveLock of insert/update/delete
BLOCKS_READERS = ("AccessExclusiveLock",)  # the only mode that conflicts with a plain select
_NAME = "format('%s.%s', c.relnamespace::regnamespace, quote_ident(c.relname))"  # schema-qualified, always
_OURS = """c.relkind in ('r', 'p', 'm')
           and c.relnamespace::regnamespace::text not in ('pg_catalog', 'information_schema', 'supabase_migrations')
           and c.relnamespace::regnamespace::text not like 'pg\\_toast%'"""


@dataclass(frozen=True)
class StatementCost:
    """One statement: where it starts, how long it ran, the locks it took, the tables it rewrote or read."""

    line: int
    sql: str  # the statement, as the file writes it
    ms: float
    locks: tuple[tuple[str, str], ...]  # (table, mode) first held after this statement
    rewrote: tuple[str, ...]
    scanned: tuple[str, ...]
    lock_timeout: str = "0"  # in force when it ran ("0": it would wait for its locks as long as it takes)
    rows_locked: tuple[tuple[str, int], ...] = ()  # (table, rows it updated or deleted): locked until commit
    held_ms: float = 0.0  # from its start until the file committed (what it locked stays locked that long)
    at_production: Estimate | None = None  # ms carried to production's rows
    held_in_production: float | None = None  # held_ms with every statement from it on carried there

    @property
    def expected_held_ms(self) -> float:
        """How long what it locked stays locked in production, as well as it is known."""
        return self.held_ms if self.held_in_production is None else self.held_in_production


@dataclass(frozen=True)
class HeldLock:
    """A lock the migration held on a table until it committed."""

    table: str
    mode: str
    line: int  # the statement that took it
    held_ms: float
    in_production: float | None = None  # held_ms with every statement from `line` on carried to production's rows

    @property
    def expected_ms(self) -> float:
        """How long it is held in production, as well as it is known."""
        return self.held_ms if self.in_production is None else self.in_production

    @property
    def blocks(self) -> str:
        """Whom the lock keeps waiting while it is held: readers and writers, writers, or nobody of the API."""
        if self.mode in BLOCKS_READERS:
            return "readers and writers"
        return "writers" if self.mode in BLOCKS_WRITERS else ""


@dataclass
class Profile:
    """What applying one migration did."""

    migration: str
    transactional: bool
    ms: float = 0.0
    statements: list[StatementCost] = field(default_factory=list)
    locks: list[HeldLock] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows of each locked table, when counted
    created: set[str] = field(default_factory=set)  # tables the migration created: nobody waited on those
    waits: list[Wait] = field(default_factory=list)  # readers and writers on its tables while it ran again
    growth: list[Growth] = field(default_factory=list)  # the tables grown to be measured at scale
    production_rows: dict[str, int] = field(default_factory=dict)  # what its figures are carried to

    def strongest(self) -> dict[str, HeldLock]:
        """Per table, the strongest lock held (the first statement to take it)."""
        found: dict[str, HeldLock] = {}
        for lock in self.locks:
            if lock.table not in found or MODES.index(lock.mode) > MODES.index(found[lock.table].mode):
                found[lock.table] = lock
        return found


class _Clock:
    """Time with the observing left out: each observation's cost is subtracted from what follows it."""

    def __init__(self) -> None:
        self.overhead = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.overhead

    def observing(self) -> _Pause:
        return _Pause(self)


class _Pause:
    def __init__(self, clock: _Clock) -> None:
        self.clock = clock

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        self.clock.overhead += time.perf_counter() - self.started


def profile(conn: psycopg.Connection, migration: Migration) -> Profile:
    """Apply `migration` on `conn` (autocommit, its history up to the file before) and measure it."""
    statements = migration.statements or []
    measured = Profile(migration.path.name, transactional=not any(needs_autocommit(s) for s in statements))
    files, scans, written = _filenodes(conn), _seq_scans(conn), _rows_written(conn)
    rewritten: set[str] = set()
    taken: dict[tuple[str, str], tuple[int, float]] = {}  # (table, mode) -> (line, when its statement started)
    starts: list[float] = []  # when each statement started
    clock = _Clock()
    timeout = _lock_timeout(conn)
    started = statement_started = clock.now()

    def observe(statement: Statement) -> None:
        nonlocal statement_started, scans, timeout, written
        ended = clock.now()
        with clock.observing():
            held = _locks(conn) if measured.transactional else set()
            new_locks = sorted(held - set(taken))
            for key in new_locks:
                taken[key] = (statement.line, statement_started)
            now_files = _filenodes(conn)
            rewrote = sorted(
                t for t, node in now_files.items() if t in files and node != files[t] and t not in rewritten
            )
            rewritten.update(rewrote)
            now_scans = _seq_scans(conn)
            scanned = sorted(t for t, count in now_scans.items() if count > scans.get(t, 0))
            scans = now_scans
            now_written = _rows_written(conn)
            locked = tuple((t, n - written.get(t, 0)) for t, n in sorted(now_written.items()) if n > written.get(t, 0))
            written = now_written
            ms = (ended - statement_started) * 1000
            measured.statements.append(
                StatementCost(statement.line, statement.text.strip(), ms, tuple(new_locks), tuple(rewrote),
                              tuple(scanned), timeout, locked)
            )  # fmt: skip
            starts.append(statement_started)
            timeout = _lock_timeout(conn)  # what the next statement runs with
        statement_started = clock.now()

    apply(conn, migration, observe)
    committed = clock.now()
    measured.created = set(_filenodes(conn)) - set(files)
    measured.statements = [
        replace(cost, held_ms=(committed - start) * 1000)
        for cost, start in zip(measured.statements, starts, strict=True)
    ]
    measured.ms = (committed - started) * 1000
    measured.locks = [
        HeldLock(table, mode, line, (committed - since) * 1000) for (table, mode), (line, since) in taken.items()
    ]
    return measured


def _locks(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """The relation locks this backend holds on the project's tables."""
    rows = conn.execute(
        f"""select {_NAME}, l.mode from pg_locks l join pg_class c on c.oid = l.relation
            where l.pid = pg_backend_pid() and l.granted and l.locktype = 'relation' and {_OURS}"""
    ).fetchall()
    return {(table, mode) for table, mode in rows}


def _filenodes(conn: psycopg.Connection) -> dict[str, int]:
    """Each of the project's tables' data file: a new one means the table was rewritten."""
    rows = conn.execute(
        f"select {_NAME}, pg_relation_filenode(c.oid) from pg_class c where {_OURS} and c.relkind <> 'p'"
    ).fetchall()
    return {table: node for table, node in rows if node is not None}


def _seq_scans(conn: psycopg.Connection) -> dict[str, int]:
    """Full reads of each table so far in this transaction."""
    rows = conn.execute(
        "select format('%s.%s', quote_ident(schemaname), quote_ident(relname)), seq_scan from pg_stat_xact_user_tables"
    ).fetchall()
    return {table: count for table, count in rows}


def _lock_timeout(conn: psycopg.Connection) -> str:
    row = conn.execute("select current_setting('lock_timeout')").fetchone()
    return str(row[0]) if row else "0"


def _rows_written(conn: psycopg.Connection) -> dict[str, int]:
    """Rows of each table updated or deleted so far in this transaction (each stays locked until commit)."""
    rows = conn.execute(
        "select format('%s.%s', quote_ident(schemaname), quote_ident(relname)), n_tup_upd + n_tup_del"
        " from pg_stat_xact_user_tables"
    ).fetchall()
    return {table: count for table, count in rows}
