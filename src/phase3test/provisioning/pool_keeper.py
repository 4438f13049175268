"""The run owner's keeper of the pool of clones (`server/pool.py`).

A thread of the process that owns the run (pytest's controller under xdist,
which runs no test itself). It waits for the run's server, then listens for
the workers' notices: it keeps a clone of each template a test asked for
ready, and more (up to `depth`) of one that ran out while known (two workers
asking at once); it drops what tests hand back or, when a clone is still as
it was cloned (`server/unchanged.py`), pools it again. Only the run's own
templates that tests asked for are pooled, and only the most recently asked
(`TEMPLATES_KEPT`, the rungs of 600 migrations): the ready clones of one asked
for longer ago are dropped, so a longer chain does not fill the server's disk
(tmpfs is memory). Below that, a clone left over when one suite is done with
a rung is the next suite's first of it.
When the run ends it drops every clone it holds. If it cannot go on (the
server went away), it says why once and stops; workers then clone and drop
themselves, as without a pool.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from phase3test.errors import Phase3TestError
from phase3test.server import pool, unchanged
from phase3test.server.target import Target
from phase3test.server.unchanged import Fingerprint

# How often the keeper looks for the run's server and for the end of the run, and how long it waits for
# notices still on their way when it ends: short, as every pytest session pays it once at its end.
POLL_SECONDS = 0.02
TEMPLATES_KEPT = 128  # templates with clones ready at once: the most recently asked for
STOP_SECONDS = 60.0  # the longest the end of a run waits for the keeper (a hung shared server)


@dataclass
class PoolCounts:
    """What the keeper did, for the run's summary and the benchmark."""

    made: int = 0
    handed_out: int = 0  # ready when a test asked
    missed: int = 0  # none ready: the test cloned the template itself
    reused: int = 0  # handed back unchanged and pooled again

    def describe(self) -> str:
        asked = self.handed_out + self.missed
        ready = f"{self.handed_out} of {asked} clones ready when asked" if asked else "no clone asked for"
        return f"{ready}, {self.made} made ahead, {self.reused} handed back unchanged and reused"


@dataclass
class _Template:
    ready: set[str] = field(default_factory=set)
    depth: int = 1  # clones kept ready: one more each time a test found none (up to the keeper's depth)
    fingerprint: Fingerprint | None = None  # None once looked at: its clones are never reused
    looked_at: bool = False
    wanted: bool = False  # asked for among the keeper's last `kept` templates
    broken: bool = False  # not the run's, or cannot be cloned or named by the pool: tests clone it themselves


class PoolKeeper:
    """Keeps up to `depth` clones ready per template asked for, once `started()` returns the run's server."""

    def __init__(self, started: Callable[[], Target | None], depth: int, kept: int = TEMPLATES_KEPT) -> None:
        self.started, self.depth, self.kept = started, depth, kept
        self.counts = PoolCounts()
        self._stop = threading.Event()
        self.listening = threading.Event()  # set once notices reach it (one sent before is not heard)
        self._thread = threading.Thread(target=self._run, name="phase3test-pool", daemon=True)
        self._templates: dict[str, _Template] = {}
        self._serial = itertools.count(1)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Drop every clone the pool holds or was handed back, then end the thread."""
        self._stop.set()
        self._thread.join(STOP_SECONDS)
        if self._thread.is_alive():
            print(f"phase3test: the pool of clones did not stop in {STOP_SECONDS:.0f} s; left to the server's end",
                  file=sys.stderr)  # fmt: skip

    def _run(self) -> None:
        target = self._wait_for_server()
        if target is None:
            return
        try:
            with psycopg.connect(
                target.conninfo(), autocommit=True, application_name=pool.keeper(target.prefix)
            ) as admin:
                admin.execute(sql.SQL("listen {}").format(sql.Identifier(pool.channel(target.prefix))))
                self.listening.set()
                try:
                    self._serve(target, admin)
                finally:
                    self._clear(target, admin)
        except psycopg.Error as exc:
            print(f"phase3test: the pool of clones stopped, tests clone templates themselves: {exc}", file=sys.stderr)

    def _wait_for_server(self) -> Target | None:
        while not self._stop.is_set():
            target = self.started()
            if target is not None:
                return target
            self._stop.wait(POLL_SECONDS)
        return None

    def _serve(self, target: Target, admin: psycopg.Connection) -> None:
        while not self._stop.is_set():
            wanting = self._wanting()
            wait = 0.0 if wanting else POLL_SECONDS
            for notice in _notices(admin, wait):
                self._guarded(admin, self._heed, target, admin, notice)
            if wanting:
                self._guarded(admin, self._make, target, admin, wanting)

    def _guarded(self, admin: psycopg.Connection, step: Callable[..., None], *args: object) -> None:
        """Run one step; a database a test left in a state the pool cannot handle is said and left, a lost
        connection ends the keeper."""
        try:
            step(*args)
        except (psycopg.Error, Phase3TestError) as exc:
            if admin.closed or admin.broken:
                raise
            print(f"phase3test: the pool of clones left a database as it is: {str(exc).strip()}", file=sys.stderr)

    def _wanting(self) -> str | None:
        """The template asked for last whose ready clones are fewest, if below its depth."""
        short = [(len(t.ready), name) for name, t in reversed(self._templates.items()) if t.wanted and not t.broken]
        short = [(count, name) for count, name in short if count < self._templates[name].depth]
        return min(short, key=lambda entry: entry[0])[1] if short else None

    def _heed(self, target: Target, admin: psycopg.Connection, notice: pool.Notice) -> None:
        template = self._templates.get(notice.template)
        if template is None:
            template = self._templates[notice.template] = _Template(
                broken=not target.is_template(admin, notice.template)
            )
        if notice.returned is not None:
            self._take_back(target, admin, notice.template, template, notice.returned)
            return
        self._templates[notice.template] = self._templates.pop(notice.template)  # last asked for, last in order
        if notice.took is not None:
            self.counts.handed_out += 1
            template.ready.discard(notice.took)
        else:
            self.counts.missed += 1
            if template.wanted and not template.broken:  # it ran out: asked for faster than one clone ahead serves
                template.depth = min(template.depth + 1, self.depth)
        template.wanted = True
        self._forget_the_oldest(target, admin)

    def _forget_the_oldest(self, target: Target, admin: psycopg.Connection) -> None:
        """Drop the ready clones of templates asked for before the last `kept` (their tests are likely done: a
        chain's rungs are asked for in turn), and make no more of them until they are asked for again."""
        wanted = [t for t in self._templates.values() if t.wanted and not t.broken]
        for template in wanted[: max(0, len(wanted) - self.kept)]:
            template.wanted = False
            for name in sorted(template.ready):
                template.ready.discard(name)
                target.drop(admin, name)

    def _make(self, target: Target, admin: psycopg.Connection, name: str) -> None:
        template = self._templates[name]
        names = self._names(name)
        if names is None:
            template.broken = True
            return
        staged, ready = names
        try:
            target.create(admin, staged, name)
        except (psycopg.Error, Phase3TestError):
            template.broken = True  # never tried again: the test that clones it itself reports why
            return
        self.counts.made += 1
        if not template.looked_at:  # the first clone, untouched: what every clone of it is handed out as
            template.looked_at = True
            template.fingerprint = _fingerprint(target, admin, staged)
        try:
            pool.rename(admin, staged, ready)
        except psycopg.Error:
            template.broken = True
            raise
        template.ready.add(ready)

    def _names(self, template: str) -> tuple[str, str] | None:
        """The next clone's names while made or checked, and when ready; None when they would be too long."""
        serial = next(self._serial)
        staged, ready = pool.owned_name(template, pool.STAGED, serial), pool.owned_name(template, pool.READY, serial)
        return None if staged is None or ready is None else (staged, ready)

    def _take_back(
        self, target: Target, admin: psycopg.Connection, name: str, template: _Template, returned: str
    ) -> None:
        if not target.made_for_a_test(admin, returned):  # a stray notice, or a test renamed or re-labelled it
            print(f"phase3test: the pool of clones leaves {returned} as it is: not a database this run made for a "
                  "test", file=sys.stderr)  # fmt: skip
            return
        fingerprint, names = template.fingerprint, self._names(name)
        if fingerprint is None or names is None or not template.wanted or unchanged.written(admin, returned):
            target.drop(admin, returned)
            return
        staged, ready = names
        try:  # waits until the test's connections are gone: its row counts are then complete
            pool.rename(admin, returned, staged)
        except psycopg.errors.ObjectInUse:
            target.drop(admin, returned)
            return
        try:
            again = fingerprint.unchanged(admin, staged, lambda db: _connect(target, db))
            if again:
                pool.rename(admin, staged, ready)
        except psycopg.Error:
            again = False
        if not again:
            target.drop(admin, staged)
            return
        template.ready.add(ready)
        self.counts.reused += 1

    def _clear(self, target: Target, admin: psycopg.Connection) -> None:
        """The run is over: say so (workers then drop their own), drop what is handed back still on its way,
        then every clone ready or half made."""
        admin.execute("set application_name = ''")
        while notices := _notices(admin, POLL_SECONDS):
            for notice in notices:
                if notice.returned is not None:
                    self._guarded(admin, _drop_if_made_for_a_test, target, admin, notice.returned)
        for name in _pool_databases(admin, self._templates):
            self._guarded(admin, target.drop, admin, name)


def _drop_if_made_for_a_test(target: Target, admin: psycopg.Connection, name: str) -> None:
    if target.made_for_a_test(admin, name):
        target.drop(admin, name)


def _notices(admin: psycopg.Connection, wait: float) -> list[pool.Notice]:
    """The notices already received, or the first one within `wait` seconds."""
    received = list(admin.notifies(timeout=wait, stop_after=1))
    received += list(admin.notifies(timeout=0))
    return [notice for notice in map(pool.Notice.parse, (n.payload for n in received)) if notice is not None]


def _pool_databases(admin: psycopg.Connection, templates: dict[str, _Template]) -> list[str]:
    """The clones on the server the pool named, ready or half made (workers rename what they take)."""
    names = [name for (name,) in admin.execute("select datname from pg_database").fetchall()]
    states = (pool.READY, pool.STAGED)
    return [name for name in names if any(pool.is_owned(name, t, state) for t in templates for state in states)]


def _fingerprint(target: Target, admin: psycopg.Connection, name: str) -> Fingerprint | None:
    """The untouched clone `name`'s fingerprint; None (its template's clones are never reused) when it cannot be
    read."""
    try:
        with _connect(target, name) as conn:
            return Fingerprint.of(admin, name, conn)
    except psycopg.Error:
        return None


def _connect(target: Target, name: str) -> psycopg.Connection:
    return psycopg.connect(target.conninfo(name), autocommit=True)
