"""The pool of clones on a real server: a test gets a ready clone of its template under its own name, workers
racing never share one, a clone a test changed in any way is never handed out again, an untouched one is, and
the keeper leaves nothing behind.

The worker side is phase3test's own `DatabaseFactory`, the owner side a `PoolKeeper` thread, both on a plain
server started apart (as a CI service would be), with a small template of rows and sequences.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fix_outside_server import FOREIGN_ROWS, OutsideServer
from psycopg import sql

from phase3test.fixtures import DatabaseFactory
from phase3test.provisioning.pool_keeper import PoolKeeper
from phase3test.server import janitor, pool
from phase3test.server.process import ProcessId
from phase3test.server.target import Claim, Target, claimed_databases, this_host

DEPTH = 2
KEPT = 4  # templates with ready clones (the keeper's default is far more)
SETTLE_SECONDS = 10.0
TEMPLATE_SQL = """
create table items (id serial primary key, note text not null);
insert into items (note) select 'item ' || n from generate_series(1, 5) n;
create sequence tickets;
select nextval('tickets');
create sequence unused;
create table empty_things (x int);
"""
_runs = itertools.count(1)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"the keeper did not get there in {SETTLE_SECONDS:.0f} s: {what}"
        time.sleep(0.02)


@dataclass
class Pool:
    target: Target
    admin: psycopg.Connection
    template: str
    keeper: PoolKeeper

    def factory(self, worker: str = "w1") -> DatabaseFactory:
        return DatabaseFactory(self.target, worker, pooled=True)

    def ready(self, template: str | None = None) -> list[str]:
        names = [name for (name,) in self.admin.execute("select datname from pg_database").fetchall()]
        return [name for name in names if pool.is_owned(name, template or self.template, pool.READY)]

    def oid(self, name: str) -> int | None:
        row = self.admin.execute("select oid from pg_database where datname = %s", (name,)).fetchone()
        return None if row is None else int(row[0])

    def oids(self) -> set[int]:
        return {int(oid) for (oid,) in self.admin.execute("select oid from pg_database").fetchall()}

    def filled(self, count: int = 1) -> None:
        wait_until(lambda: len(self.ready()) >= count, f"{count} clone(s) of {self.template} ready")

    def send(self, notice: pool.Notice) -> None:
        """A notice on the pool's channel, as anyone connected may send one."""
        self.admin.execute("select pg_notify(%s, %s)", (pool.channel(self.target.prefix), notice.payload()))

    def heard(self, asked: int) -> None:
        counts = self.keeper.counts
        wait_until(lambda: counts.handed_out + counts.missed == asked, f"{asked} asks heard")

    def processed(self, oid: int, reused_before: int) -> bool:
        """Whether the keeper has dealt with the handed-back clone `oid`: dropped it or pooled it again."""
        return oid not in self.oids() or self.keeper.counts.reused > reused_before

    def ours(self) -> list[str]:
        rows = self.admin.execute(
            "select datname from pg_database where starts_with(datname, %s)", (self.target.prefix,)
        ).fetchall()
        return sorted(name for (name,) in rows if name != self.template)


@pytest.fixture
def pooled(outside_server: OutsideServer) -> Iterator[Pool]:
    """A pool on a server of the run's own (no claims), as the embedded backend has."""
    yield from _pool(outside_server, shared=False)


@pytest.fixture
def shared_pool(outside_server: OutsideServer) -> Iterator[Pool]:
    """A pool on a shared server: every database of the run carries its claim."""
    yield from _pool(outside_server, shared=True)


def _pool(outside_server: OutsideServer, shared: bool) -> Iterator[Pool]:
    prefix = f"p3t_pool{next(_runs)}"
    claim = Claim(prefix, this_host(), ProcessId.of_self()) if shared else None
    target = Target(outside_server.url(), "15", prefix, claim)
    with outside_server.admin() as admin:
        template = target.template("seeded")
        target.create(admin, template, "template0")
        with psycopg.connect(target.conninfo(template), autocommit=True) as conn:
            conn.execute(TEMPLATE_SQL)
        target.seal(admin, template, "")
        keeper = PoolKeeper(lambda: target, DEPTH, KEPT)
        keeper.start()
        assert keeper.listening.wait(SETTLE_SECONDS)
        try:
            yield Pool(target, admin, template, keeper)
        finally:
            keeper.stop()
            for name in [*pooled_leftovers(admin, prefix), template]:
                admin.execute(sql.SQL("alter database {} is_template false").format(sql.Identifier(name)))
                janitor.drop(admin, name)


def pooled_leftovers(admin: psycopg.Connection, prefix: str) -> list[str]:
    rows = admin.execute("select datname from pg_database where starts_with(datname, %s)", (prefix + "_",)).fetchall()
    return [name for (name,) in rows if not name.endswith("_seeded")]


def rows_of(pooled: Pool, name: str) -> tuple[list[tuple[object, ...]], int]:
    with psycopg.connect(pooled.target.conninfo(name), autocommit=True) as conn:
        items = conn.execute("select id, note from items order by id").fetchall()
        (ticket,) = conn.execute("select nextval('tickets')").fetchone() or (None,)
    return [tuple(row) for row in items], int(ticket)


def test_a_test_gets_a_ready_clone_of_its_template_under_its_own_name(pooled: Pool) -> None:
    factory = pooled.factory()
    assert pooled.ready() == [], "nothing is pooled before a template is asked for"
    first = factory.create(pooled.template, "fresh")
    pooled.filled()
    (ready,) = pooled.ready()
    oid = pooled.oid(ready)
    second = factory.create(pooled.template, "fresh")
    assert second == pooled.target.name("fresh_w1_2") and pooled.oid(second) == oid, "the ready clone, renamed"
    assert rows_of(pooled, second) == rows_of(pooled, first) == ([(n, f"item {n}") for n in range(1, 6)], 2)
    pooled.filled()  # and the keeper makes another
    wait_until(lambda: pooled.keeper.counts.handed_out == 1, "the handout counted")
    assert pooled.keeper.counts.missed == 1
    factory.close()


def test_a_template_that_runs_out_gets_more_clones_ahead(pooled: Pool) -> None:
    """One clone ahead serves tests asking one after another; two workers asking at once find none, and the keeper
    then keeps two (the setting `pool` is the most)."""
    factory = pooled.factory()
    factory.create(pooled.template, "warm")
    pooled.filled()
    asked = 1
    while pooled.keeper.counts.missed < 2 and asked < 16:  # three asks in a row: the keeper cannot keep up
        for _ in range(3):
            factory.create(pooled.template, "burst")
        asked += 3
        pooled.heard(asked)
    pooled.filled(DEPTH)
    time.sleep(0.3)
    assert len(pooled.ready()) == DEPTH, "never more than the setting"
    factory.close()


def test_workers_racing_for_clones_never_share_one(pooled: Pool) -> None:
    pooled.factory().create(pooled.template, "warm")
    pooled.filled()
    taken: list[str] = []
    barrier = threading.Barrier(4)

    def worker(number: int) -> None:
        factory = pooled.factory(f"w{number}")
        barrier.wait()
        taken.extend(factory.create(pooled.template, "race") for _ in range(6))
        factory.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    oids = [pooled.oid(name) for name in taken]
    assert None not in oids and len(set(oids)) == 24, "24 tests, 24 databases, each under its test's name"
    pooled.heard(25)
    assert pooled.keeper.counts.handed_out >= 1


CHANGES = {
    "insert": "insert into items (note) values ('new')",
    "update": "update items set note = 'changed' where id = 1",
    "delete": "delete from items where id = 5",
    "rolled-back insert": "begin; insert into items (note) values ('gone'); rollback",
    "truncate": "truncate items",
    "create table": "create table extra (x int)",
    "create function": "create function f() returns int language sql as 'select 1'",
    "comment on a table": "comment on table items is 'changed'",
    "analyze": "analyze items",
    "vacuum": "vacuum items",
    "analyze of an empty table": "analyze empty_things",
    "nextval": "select nextval('tickets')",
    "nextval of a fresh sequence": "select nextval('unused')",
    "setval, not called": "select setval('unused', 40, false)",
    "alter sequence": "alter sequence tickets restart with 100",
    "large object": "select lo_create(0)",
    "settings of the database": "alter database {db} set work_mem = '5MB'",
    "settings of a role in it": "alter role postgres in database {db} set work_mem = '6MB'",
    "comment on the database": "comment on database {db} is 'changed'",
    "grant on the database": "grant connect on database {db} to reader",
    "connection limit": "alter database {db} connection limit 50",
    "statistics reset": "select pg_stat_reset()",
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_changed_clone_is_never_handed_out_again(pooled: Pool, change: str) -> None:
    factory = pooled.factory()
    factory.create(pooled.template, "warm")
    pooled.filled()
    name = factory.create(pooled.template, "fresh")
    oid, reused = pooled.oid(name), pooled.keeper.counts.reused
    with psycopg.connect(pooled.target.conninfo(name), autocommit=True) as conn:
        conn.execute(sql.SQL(change.replace("{db}", "{}")).format(sql.Identifier(name)) if "{db}" in change else change)
    factory.drop(name)
    assert oid is not None
    wait_until(lambda: pooled.processed(oid, reused), "the clone handed back dealt with")
    assert pooled.keeper.counts.reused == reused and oid not in pooled.oids(), "dropped, not pooled again"
    factory.close()


def test_an_untouched_clone_is_handed_out_again_as_it_was(pooled: Pool) -> None:
    factory = pooled.factory()
    factory.create(pooled.template, "warm")
    pooled.filled()
    name = factory.create(pooled.template, "fresh")
    oid = pooled.oid(name)
    with psycopg.connect(pooled.target.conninfo(name), autocommit=True) as conn:
        conn.execute("select * from items").fetchall()
        conn.execute("select last_value from tickets").fetchone()
        with conn.transaction(force_rollback=True):
            conn.execute("set local work_mem = '7MB'")
        conn.execute("listen anything")
    factory.drop(name)
    wait_until(lambda: pooled.keeper.counts.reused == 1, "the untouched clone pooled again")
    again = [factory.create(pooled.template, "again") for _ in range(2)]
    assert oid in {pooled.oid(name) for name in again}, "the same database handed to a later test"
    for later in again:
        assert rows_of(pooled, later) == ([(n, f"item {n}") for n in range(1, 6)], 2)
    factory.close()


def test_the_keeper_leaves_nothing_behind(shared_pool: Pool) -> None:
    pooled = shared_pool
    factory = pooled.factory()
    kept = factory.create(pooled.template, "kept")
    pooled.filled()
    handed_back = factory.create(pooled.template, "back")
    pooled.filled()
    factory.drop(handed_back)
    assert set(pooled.ready()) and set(claimed_databases(pooled.admin)) >= set(pooled.ready()), (
        "on a shared server every clone of the pool carries the run's claim"
    )
    pooled.keeper.stop()
    assert pooled.ours() == [kept], "ready clones and those handed back are dropped; the test's own stays"
    factory.drop(kept)  # no keeper listens any more: the test drops its own
    assert pooled.ours() == []


def test_a_template_that_cannot_be_cloned_fails_the_test_with_the_servers_error(pooled: Pool) -> None:
    factory = pooled.factory()
    missing = pooled.target.template("nowhere")
    for _ in range(2):
        with pytest.raises(psycopg.errors.InvalidCatalogName, match="nowhere"):
            factory.create(missing, "fresh")
    factory.create(pooled.template, "fine")
    pooled.filled()
    assert pooled.ready(missing) == []


def test_a_notice_naming_a_database_that_is_not_a_template_of_the_run_clones_nothing(
    shared_pool: Pool, outside_server: OutsideServer
) -> None:
    """A notice asking for clones of another's database, or of a test's database, is not heeded."""
    pooled = shared_pool
    factory = pooled.factory()
    own = factory.create(pooled.template, "fresh")
    strays = (outside_server.foreign_database, own, "postgres")
    for stray in strays:
        pooled.send(pool.Notice(stray))
    factory.create(pooled.template, "after")  # heard after the strays: once it is, so are they
    pooled.heard(2 + len(strays))
    pooled.filled()
    assert all(pooled.ready(stray) == [] for stray in strays)
    assert pooled.ours() == sorted([own, pooled.target.name("after_w1_2"), *pooled.ready()])
    factory.close()


def test_a_notice_naming_a_database_not_made_for_a_test_is_ignored(
    shared_pool: Pool, outside_server: OutsideServer
) -> None:
    """Anyone connected may send a notice on the pool's channel: the keeper touches only clones of its run."""
    pooled = shared_pool
    factory = pooled.factory()
    name = factory.create(pooled.template, "fresh")
    for stray in (outside_server.foreign_database, pooled.template, "postgres"):
        pooled.send(pool.Notice(pooled.template, returned=stray))
    oid, reused = pooled.oid(name), pooled.keeper.counts.reused
    factory.drop(name)  # sent after the stray notices: once it is dealt with, so are they
    assert oid is not None
    wait_until(lambda: pooled.processed(oid, reused), "the real clone handed back dealt with")
    assert outside_server.foreign_rows() == FOREIGN_ROWS
    assert pooled.oid(pooled.template) is not None and pooled.oid("postgres") is not None
    factory.close()


def test_a_template_whose_clones_the_pool_cannot_name_is_cloned_by_the_test(pooled: Pool) -> None:
    """Postgres names are 63 bytes at most: a template with a name near that is not pooled, its tests clone it."""
    long_template = pooled.target.name("t" * (pool.NAME_BYTES - len(pooled.target.prefix) - 5))
    pooled.target.create(pooled.admin, long_template, pooled.template)
    pooled.target.seal(pooled.admin, long_template, "")
    try:
        factory = pooled.factory()
        names = [factory.create(long_template, "long") for _ in range(3)]
        assert [rows_of(pooled, name)[0] for name in names] == [[(n, f"item {n}") for n in range(1, 6)]] * 3
        wait_until(lambda: pooled.keeper.counts.missed == 3, "the three asks heard")
        assert pooled.keeper.counts.made == 0
        factory.close()
    finally:
        pooled.admin.execute(sql.SQL("alter database {} is_template false").format(sql.Identifier(long_template)))
        janitor.drop(pooled.admin, long_template)


def test_only_the_templates_asked_for_last_keep_ready_clones(pooled: Pool) -> None:
    """A long chain's rungs are asked for in turn: the clones of one asked for long ago are dropped, not kept
    until the run ends."""
    templates = [pooled.target.name(f"rung_{n}") for n in range(KEPT + 2)]
    for name in templates:
        pooled.target.create(pooled.admin, name, pooled.template)
        pooled.target.seal(pooled.admin, name, "")
    try:
        factory = pooled.factory()
        for name in templates:
            factory.create(name, "rung")
            wait_until(lambda name=name: len(pooled.ready(name)) == 1, f"a clone of {name} ready")
        kept = {name: len(pooled.ready(name)) for name in templates}
        assert kept == {name: int(n >= 2) for n, name in enumerate(templates)}, "the ones asked for last"
        factory.create(templates[0], "again")  # asked for again: pooled again
        wait_until(lambda: len(pooled.ready(templates[0])) == 1, "the first template pooled again")
        assert pooled.ready(templates[2]) == [], "and the oldest of them let go"
        factory.close()
    finally:
        for name in templates:
            pooled.admin.execute(sql.SQL("alter database {} is_template false").format(sql.Identifier(name)))
            janitor.drop(pooled.admin, name)
