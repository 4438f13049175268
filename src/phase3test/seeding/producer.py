"""Rows generated and formatted for COPY in a second process, while this one loads the batches before.

Generating rows and formatting them is Python work on one core; loading them
is the server's work on another. In one process the two mostly take turns.
Here the producer runs ahead, a bounded number of formatted batches, and the loader
only passes bytes on. The producer is forked: it inherits the seeders, whatever
module defines them, and the connection object, whose adapters format the
rows. It never uses the connection's socket and, like every multiprocessing
child, ends with os._exit, so nothing is sent or closed on the connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import multiprocessing
import multiprocessing.connection
import queue
import signal
import threading
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import psycopg

from phase3test.seeding.copy_format import copy_data
from phase3test.seeding.model import Seeder, Update, generate_steps

# How many formatted batches the producer may be ahead of the loader: enough to keep both busy, while
# bounding what waits in memory (a batch is one table's rows of one seeder).
AHEAD = 64
PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process
_POLL_SECONDS = 0.5  # how often a waiting receiver checks whether the loader has stopped


@dataclass(frozen=True)
class CopyRows:
    """One batch, ready for `COPY table (columns) FROM STDIN`."""

    seeder: str
    table: str
    columns: tuple[str, ...]
    rows: int
    binary: bool
    data: bytes


@dataclass(frozen=True)
class RunSql:
    """An `Update` step: a statement to run after the batches before it."""

    seeder: str
    table: str
    sql: str


@dataclass(frozen=True)
class SeederGenerated:
    """Every step of the seeder has been sent."""

    seeder: str


@dataclass(frozen=True)
class GenerationFailed:
    """The seeder raised while generating; nothing after it was sent."""

    seeder: str
    error: str  # "ExceptionType: message"
    traceback: str


Instruction = CopyRows | RunSql | SeederGenerated | GenerationFailed


class _Ended:
    """The receiver's word for a producer gone without its last words; the loading thread reaps it."""


class Producer:
    """The forked producer of one seeding; iterate for its instructions, in order. Use as a context manager:
    leaving stops the producer, finished or not.

    The producer sends from its main thread (multiprocessing's Queue would send from a second thread, which
    waits for the generating thread to yield the GIL after every pipe-full: measurably slower), and
    a thread here receives into a bounded queue, so neither side waits on the pipe while the other works.
    Only the loading thread reaps the producer.
    """

    def __init__(
        self, conn: psycopg.Connection, seeders: list[Seeder], seed: int, scale: int, types: dict[str, dict[str, int]]
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._pipe, sending = context.Pipe(duplex=False)
        with contextlib.suppress(OSError, AttributeError):  # fewer, larger writes; Linux only
            fcntl.fcntl(sending.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._sending = sending
        self._process = context.Process(
            target=_produce,
            args=(self._pipe, sending, _Job(conn, seeders, seed, scale, types)),
            name="phase3test-seed-producer",
            daemon=True,
        )
        self._received: queue.Queue[Instruction | _Ended | None] = queue.Queue(AHEAD)
        self._receiver = threading.Thread(target=self._receive, name="phase3test-seed-receiver", daemon=True)
        self._stopping = threading.Event()
        self._pending = [seeder.name for seeder in seeders]  # not generated yet, as the receiver has seen

    def __enter__(self) -> Producer:
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads (pytest-xdist's): the producer only
            # generates rows and formats them, and takes no lock another thread could be holding.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._process.start()
        self._sending.close()  # the producer's end: once it has gone, receiving ends
        self._receiver.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stopping.set()
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._receiver.join()
        self._pipe.close()

    def __iter__(self) -> Iterator[Instruction]:
        while (instruction := self._received.get()) is not None:
            if isinstance(instruction, _Ended):
                self._process.join()
                yield GenerationFailed(
                    self._pending[0] if self._pending else "?",  # the receiver has finished with it
                    f"the process generating rows ended (exit code {self._process.exitcode})",
                    "",
                )
                return
            yield instruction

    def _receive(self) -> None:
        """Move instructions from the pipe to the queue until the last one, or until the loader stops."""
        while not self._stopping.is_set():
            try:
                instruction: Instruction | _Ended | None = self._pipe.recv()
            except (EOFError, OSError):  # gone without its last words: killed, or os._exit in a seeder
                instruction = _Ended()
            if isinstance(instruction, SeederGenerated):
                self._pending.remove(instruction.seeder)
            while not self._stopping.is_set():
                try:
                    self._received.put(instruction, timeout=_POLL_SECONDS)
                    break
                except queue.Full:
                    continue
            if instruction is None or isinstance(instruction, _Ended | GenerationFailed):
                return


@dataclass(frozen=True)
class _Job:
    """What the producer generates: the seeding's arguments, and column types for choosing COPY formats."""

    conn: psycopg.Connection  # for its adapters only
    seeders: list[Seeder]
    seed: int
    scale: int
    types: dict[str, dict[str, int]]


def _produce(
    receiving: multiprocessing.connection.Connection, out: multiprocessing.connection.Connection, job: _Job
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the loader's to handle; it stops us
    # The loader's end, inherited: closed, so that if the loader dies (kill -9, a crashed worker) the next
    # send fails and this process ends, instead of waiting forever on a full pipe.
    receiving.close()
    # Generation allocates millions of objects that all stay alive (later seeders read them), so every
    # collection of the cyclic garbage collector walks them all, finding nothing: nearly half of this
    # process's time. It ends with the seeding and frees its memory then.
    gc.disable()
    with contextlib.suppress(BrokenPipeError):  # the loader is gone: nobody to tell
        _send_all(out, job)


def _send_all(out: multiprocessing.connection.Connection, job: _Job) -> None:
    current = "?"
    try:
        for seeder, steps in generate_steps(job.seeders, job.seed, job.scale):
            current = seeder.name
            for step in steps:
                if isinstance(step, Update):
                    out.send(RunSql(current, step.table, step.sql))
                    continue
                rows = step.rows
                assert isinstance(rows, list)  # generate_steps made it one
                columns = tuple(step.columns)
                known = job.types.get(step.table, {})
                oids = [known.get(column, 0) for column in columns]
                data, binary = copy_data(job.conn, rows, oids)
                out.send(CopyRows(current, step.table, columns, len(rows), binary, data))
            out.send(SeederGenerated(current))
    except BrokenPipeError:
        raise
    except Exception as exc:  # reported to the loader, which fails the seeding naming the seeder
        out.send(GenerationFailed(current, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
    out.send(None)
