"""What a seeder is, and the deterministic context it generates rows in.

A seeder is pure: from its context alone (seed, scale, what earlier seeders
shared) it yields batches of rows. It never reads the database, so the same
rows can be loaded with COPY or written out as a seed.sql file, and one seed
gives identical data on every run and machine.
"""

from __future__ import annotations

import abc
import hashlib
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from phase3test.errors import SetupError

# Wall-clock time never enters seeded data: "now" is this fixed instant.
REFERENCE_TIME = datetime(2025, 11, 1, 12, 0, tzinfo=UTC)
SCALES: dict[str, int] = {"small": 1, "medium": 20, "large": 500}


def parse_scale(text: str) -> int:
    """A scale name or a positive integer."""
    if text in SCALES:
        return SCALES[text]
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise SetupError(f"unknown scale {text!r}", hint=f"use {', '.join(SCALES)} or a positive integer")


def parse_seed(text: str) -> int:
    if text.isdigit():
        return int(text)
    raise SetupError(f"seed must be a non-negative integer, got {text!r}")


# The version nibble and variant bits of a UUID, and their values for an RFC 4122 version 4 UUID.
_NOT_VERSION_BITS = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4_BITS = (4 << 76) | (0x8000 << 48)
# Looked up once: a quarter of a million UUIDs at scale 50 (an enum member's lookup alone is a descriptor call).
_UUID, _UNKNOWN_SAFETY, _new, _set = uuid.UUID, uuid.SafeUUID.unknown, object.__new__, object.__setattr__

# Keys in SeedContext.shared where generate_steps records every batch a seeder yields.
LOADED, LOADED_AS_DICTS = "_loaded", "_loaded_as_dicts"


@dataclass(frozen=True)
class Batch:
    """Rows for one table, in the order of `columns`."""

    table: str  # schema-qualified, e.g. "public.orders"
    columns: Sequence[str]
    rows: Iterable[Sequence[Any]]


@dataclass(frozen=True)
class Update:
    """A statement run after the batches before it, for what rows cannot carry when inserted.

    Circular references (a template points at its current version, which
    points back at the template) are filled in afterwards, as the application
    does. Later seeders' `ctx.rows` do not see the change.
    """

    table: str
    sql: str


Step = Batch | Update


@dataclass
class SeedContext:
    """Everything a seeder may draw on; its randomness is private to the seeder."""

    seed: int
    seeder: str
    scale: int
    shared: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(f"{self.seed}:{self.seeder}".encode()).digest()
        self.random = random.Random(int.from_bytes(digest[:8], "big"))
        from faker import Faker  # here: the plugin loads this module in every process, most never seed

        self.faker = Faker()
        self.faker.seed_instance(int.from_bytes(digest[8:16], "big"))
        self.now = REFERENCE_TIME

    def uuid(self) -> uuid.UUID:
        """A random-looking version 4 UUID drawn from the seeder's own generator.

        The same value as `uuid.UUID(int=bits, version=4)`, built without the
        constructor's argument checks: they were a third of all generation time.
        """
        value = _new(_UUID)
        _set(value, "int", (self.random.getrandbits(128) & _NOT_VERSION_BITS) | _VERSION_4_BITS)
        _set(value, "is_safe", _UNKNOWN_SAFETY)
        return value

    def rows(self, table: str) -> list[dict[str, Any]]:
        """What earlier seeders of this run loaded into `table`, as column -> value dicts, in order."""
        loaded = self.shared.get(LOADED, {})
        if table not in loaded:
            raise KeyError(f"seeder {self.seeder!r} asked for {table}, which no earlier seeder loaded")
        cache = self.shared.setdefault(LOADED_AS_DICTS, {})
        if table not in cache:
            cache[table] = [dict(zip(columns, row, strict=True)) for columns, rows in loaded[table] for row in rows]
        return cache[table]

    def count(self, per_scale_unit: int) -> int:
        """How many of something to make at this scale."""
        return per_scale_unit * self.scale


class Seeder(abc.ABC):
    """Subclass, name it, list the tables it fills and the seeders it needs, and yield batches."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    depends_on: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def generate(self, ctx: SeedContext) -> Iterator[Step]:
        """Yield the rows, parents before children (and any `Update` after them); share ids later
        seeders need in `ctx.shared`."""


def generate_steps(seeders: list[Seeder], seed: int, scale: int) -> Iterator[tuple[Seeder, Iterator[Step]]]:
    """Each seeder with its batches, in order; later seeders see what earlier ones shared.

    Consume each seeder's batches before moving on: that is when it shares.
    """
    shared: dict[str, Any] = {LOADED: {}}
    for seeder in seeders:
        yield seeder, _recorded(seeder.generate(SeedContext(seed, seeder.name, scale, shared)), shared[LOADED])


def _recorded(steps: Iterator[Step], loaded: dict[str, list[Any]]) -> Iterator[Step]:
    """Keep each batch's rows so later seeders can read them (`SeedContext.rows`)."""
    for batch in steps:
        if isinstance(batch, Update):
            yield batch
            continue
        rows = list(batch.rows)  # a copy: a seeder may reuse its list once the batch is yielded
        loaded.setdefault(batch.table, []).append((tuple(batch.columns), rows))
        yield Batch(batch.table, batch.columns, rows)
