"""Materialized views, read from the catalog: what concurrent refresh needs, and whether it keeps its promises.

`REFRESH MATERIALIZED VIEW CONCURRENTLY` needs a unique index on plain
columns with no predicate; it then swaps rows in place under an EXCLUSIVE
lock that readers do not wait for, where a plain refresh holds ACCESS
EXCLUSIVE and blocks them. `under_load` measures exactly that: readers
querying the view in a loop while another session refreshes it (the way the
project does, `refresh_paths`) and keeps its transaction open, their
latencies and every moment one of them waited on a lock, read from
`pg_stat_activity`.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class MatView:
    name: str  # schema.name, quoted where needed
    definition: str
    unique_index: str | None  # a unique index concurrent refresh can use, if any
    depends_on: tuple[str, ...]  # other materialized views it reads


def materialized_views(conn: psycopg.Connection) -> list[MatView]:
    """Every materialized view outside the system schemas, in dependency order (what it reads comes first)."""
    rows = conn.execute(
        """select c.oid, format('%I.%I', n.nspname, c.relname), pg_get_viewdef(c.oid),
                  (select i.indexrelid::regclass::text from pg_index i
                    where i.indrelid = c.oid and i.indisunique and i.indisvalid and i.indpred is null
                      and i.indexprs is null and not (0 = any (i.indkey::int2[])) limit 1),
                  array(select distinct format('%I.%I', dn.nspname, d.relname)
                          from pg_rewrite w join pg_depend e on e.classid = 'pg_rewrite'::regclass and e.objid = w.oid
                          join pg_class d on d.oid = e.refobjid and d.relkind = 'm' and d.oid <> c.oid
                          join pg_namespace dn on dn.oid = d.relnamespace
                         where w.ev_class = c.oid order by 1)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'm' and n.nspname not in ('pg_catalog', 'information_schema')
            order by 2"""
    ).fetchall()
    views = {name: MatView(name, definition, index, tuple(deps)) for _oid, name, definition, index, deps in rows}
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name not in ordered:
            for dependency in views[name].depends_on:
                visit(dependency)
            ordered.append(name)

    for name in views:
        visit(name)
    return [views[name] for name in ordered]


def drift(conn: psycopg.Connection, view: MatView) -> tuple[int, int]:
    """(rows the view lacks, rows it has too many) against its definition run now; duplicates counted."""
    definition = view.definition.rstrip().rstrip(";")
    row = conn.execute(
        f"""select (select count(*) from (({definition}) except all (select * from {view.name})) lacking),
                   (select count(*) from ((select * from {view.name}) except all ({definition})) extra)"""
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def refresh_time(conn: psycopg.Connection, view: MatView, times: int = 3) -> float:
    """Median seconds of a concurrent refresh of `view` (on an autocommit connection)."""
    refresh = concurrent_refresh(view)
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        conn.execute(refresh)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


_REFRESH = re.compile(r"refresh\s+materialized\s+view\s+(?:concurrently\s+)?([\w.\"]+)", re.IGNORECASE)


def refresh_functions(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Functions a caller can run (no arguments, not triggers) whose body refreshes materialized views, with the
    views in the order the body names them."""
    found: dict[str, list[str]] = {}
    rows = conn.execute(
        """select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), p.prosrc
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where p.prosrc ~* 'refresh\\s+materialized\\s+view'
              and p.prokind = 'f' and p.pronargs = 0 and p.prorettype <> 'trigger'::regtype
              and n.nspname not in ('pg_catalog', 'information_schema')"""
    ).fetchall()
    for name, source in rows:
        found[name] = [_qualified(conn, target) for target in _REFRESH.findall(source)]
    return found


def refresh_paths(conn: psycopg.Connection, views: list[MatView]) -> dict[str, sql.Composed]:
    """How the project refreshes each view: a call of the first refresh function that names it, else a
    concurrent refresh of the view itself (what a scheduled job would run)."""
    paths: dict[str, sql.Composed] = {}
    for function, order in sorted(refresh_functions(conn).items()):
        call = sql.SQL("select {}()").format(sql.SQL(function.split("(")[0]))
        for name in order:
            paths.setdefault(name, call)
    return {view.name: paths.get(view.name, concurrent_refresh(view)) for view in views}


def concurrent_refresh(view: MatView) -> sql.Composed:
    return sql.SQL("refresh materialized view concurrently {}").format(sql.SQL(view.name))


def plain_refresh(view: MatView) -> sql.Composed:
    return sql.SQL("refresh materialized view {}").format(sql.SQL(view.name))


def _qualified(conn: psycopg.Connection, target: str) -> str:
    row = conn.execute(
        "select format('%%I.%%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where c.oid = to_regclass(%s)",
        (target,),
    ).fetchone()
    return row[0] if row else target


def change_base_tables(conn: psycopg.Connection, views: list[MatView]) -> list[str]:
    """Delete a few rows from every table the views read, so the refresh has real changes to show.

    Foreign keys and triggers are off for these deletes (`session_replication_role`): the
    database is the test's own, and what matters is that the base data moved.
    """
    tables = [
        name
        for (name,) in conn.execute(
            """select distinct format('%%I.%%I', n.nspname, t.relname)
                 from pg_rewrite w join pg_depend e on e.classid = 'pg_rewrite'::regclass and e.objid = w.oid
                 join pg_class t on t.oid = e.refobjid and t.relkind in ('r', 'p')
                 join pg_namespace n on n.oid = t.relnamespace
                where w.ev_class = any (%s::regclass[]) order by 1""",
            ([view.name for view in views],),
        )
    ]
    changed = []
    with conn.transaction():
        conn.execute("set local session_replication_role = replica")
        for table in tables:
            if conn.execute(f"delete from {table} where ctid in (select ctid from {table} limit 3)").rowcount:
                changed.append(table)
    return changed


def entry_call(call: str) -> sql.Composed:
    """`select <call>`: a refresh entry point the project declares (its own SQL, from its settings)."""
    return sql.SQL("select {}").format(sql.SQL(call))


def refreshed_by(conn: psycopg.Connection, call: str) -> dict[str, str]:
    """The materialized views `call` refreshes, each with the lock it takes on it (ExclusiveLock: concurrently;
    AccessExclusiveLock: in place, blocking readers).

    Observed, not parsed: the call runs in a transaction rolled back afterwards, and the views that transaction
    then holds one of those locks on are the ones it refreshed, so wrappers, dynamic SQL and helper functions
    count as the body's own statements do.
    """
    with conn.transaction(force_rollback=True):
        conn.execute(entry_call(call))
        rows = conn.execute(
            """select format('%I.%I', n.nspname, c.relname), l.mode
                 from pg_locks l join pg_class c on c.oid = l.relation and c.relkind = 'm'
                 join pg_namespace n on n.oid = c.relnamespace
                where l.pid = pg_backend_pid() and l.granted and l.mode in ('ExclusiveLock', 'AccessExclusiveLock')
                order by 1, 2 desc"""
        ).fetchall()
    return dict(rows)  # the stronger lock where a view was refreshed both ways


@dataclass
class LoadResult:
    """What readers saw while a refresh of the view held its transaction open."""

    latencies: list[float] = field(default_factory=list)  # seconds per read started while the refresh ran
    errors: list[str] = field(default_factory=list)
    lock_waits: int = 0  # samples in which a reader was waiting on a lock
    samples: int = 0

    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0

    def p99(self) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def under_load(
    dsn: str, view: MatView, refresh: sql.Composed, readers: int = 2, hold: float = 0.3, writes: str | None = None
) -> LoadResult:
    """Readers query `view` in a loop while another session runs `refresh` and keeps its transaction open `hold` s.

    `writes`, if given, is a statement a writer session runs in a loop meanwhile (e.g. an insert into a base
    table, rolled back each time). A monitor samples the readers' wait events every millisecond.
    """
    result = LoadResult()
    reads: list[tuple[float, float]] = []  # (start, end) of every read
    window = [0.0, 0.0]  # when the refresh's transaction started and ended
    stop = threading.Event()
    pids: list[int] = []
    lock = threading.Lock()
    count = sql.SQL("select count(*) from {}").format(sql.SQL(view.name))

    def read() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            with lock:
                pids.append(conn.info.backend_pid)
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    conn.execute(count).fetchone()
                except psycopg.Error as exc:
                    with lock:
                        result.errors.append(f"reader: {exc.sqlstate}: {exc}")
                    return
                with lock:
                    reads.append((started, time.perf_counter()))

    def write() -> None:
        with psycopg.connect(dsn) as conn:
            while not stop.is_set():
                try:
                    conn.execute(writes or "select 1")
                except psycopg.Error as exc:
                    with lock:
                        result.errors.append(f"writer: {exc.sqlstate}: {exc}")
                    return
                finally:
                    conn.rollback()

    threads = [threading.Thread(target=read) for _ in range(readers)]
    if writes:
        threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    try:
        with psycopg.connect(dsn, autocommit=True) as monitor, psycopg.connect(dsn) as refresher:
            while len(pids) < readers and all(t.is_alive() for t in threads):
                time.sleep(0.005)
            time.sleep(0.05)  # readers warm up: a baseline before the refresh starts
            done = threading.Event()

            def run_refresh() -> None:
                window[0] = time.perf_counter()
                try:
                    refresher.execute(refresh)
                    time.sleep(hold)
                    refresher.commit()
                except psycopg.Error as exc:
                    refresher.rollback()
                    with lock:
                        result.errors.append(f"refresh: {exc.sqlstate}: {exc}")
                finally:
                    window[1] = time.perf_counter()
                    done.set()

            refreshing = threading.Thread(target=run_refresh)
            refreshing.start()
            try:
                while not done.is_set():
                    waiting = monitor.execute(
                        "select count(*) from pg_stat_activity where pid = any(%s) and wait_event_type = 'Lock'",
                        (pids,),
                    ).fetchone()
                    result.samples += 1
                    result.lock_waits += bool(waiting and waiting[0])
                    time.sleep(0.001)
            finally:
                refreshing.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    # Reads that started while the refresh's transaction was open: what a reader arriving then waits.
    result.latencies = [end - start for start, end in reads if window[0] <= start < window[1]]
    return result
