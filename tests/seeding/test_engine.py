"""The seeding engine with toy seeders: order, determinism, all-or-nothing, SQL output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from phase3test.errors import SetupError
from phase3test.seeding import Batch, SeedContext, Seeder, SeedError, Step, Update, emit_sql, foreign_keys, plan, seed
from phase3test.server.process import ProcessId, wait_gone


class Parents(Seeder):
    name = "parents"
    tables = ("public.parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        ids = [ctx.uuid() for _ in range(ctx.count(3))]
        ctx.shared["parents"] = ids
        yield Batch("public.parents", ("id", "name", "born"), [(i, ctx.faker.name(), ctx.now) for i in ids])


class Children(Seeder):
    name = "children"
    tables = ("public.children",)
    depends_on = ("parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        rows = [(ctx.uuid(), parent, ctx.random.randint(0, 17)) for parent in ctx.shared["parents"] for _ in range(2)]
        yield Batch("public.children", ("id", "parent_id", "age"), rows)


class Broken(Seeder):
    name = "broken"
    tables = ("public.children",)
    depends_on = ("parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        yield Batch("public.children", ("id", "parent_id", "age"), [(ctx.uuid(), ctx.uuid(), 1)])


@pytest.fixture
def family(empty_db):
    empty_db.execute(
        "create table public.parents (id uuid primary key, name text not null, born timestamptz not null);"
        "create table public.children (id uuid primary key, parent_id uuid not null references public.parents,"
        " age int not null)"
    )
    return empty_db


def contents(conn) -> tuple:
    return tuple(
        conn.execute(
            f"select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) from public.{t} t"
        ).fetchone()[0]
        for t in ("parents", "children")
    )


def test_plan_orders_by_dependency_and_pulls_dependencies_in():
    assert [s.name for s in plan([Children(), Parents()])] == ["parents", "children"]
    assert [s.name for s in plan([Children(), Parents()], only=["children"])] == ["parents", "children"]


def test_plan_names_unknown_domains_and_missing_dependencies():
    with pytest.raises(SetupError, match=r"unknown seeding domain.*nope") as caught:
        plan([Parents()], only=["nope"])
    assert "parents" in (caught.value.hint or "")
    with pytest.raises(SetupError, match="depends on 'parents', which is not configured"):
        plan([Children()])


def test_seeded_uuids_are_the_version_4_uuids_of_the_seeders_draws():
    """ctx.uuid builds its UUID by hand: the value, version and variant are those uuid.UUID would make."""
    ctx = SeedContext(7, "parents", 1)
    draws = SeedContext(7, "parents", 1).random
    for _ in range(2000):
        made, expected = ctx.uuid(), uuid.UUID(int=draws.getrandbits(128), version=4)
        assert (made, str(made), hash(made), made.version, made.variant) == (
            expected,
            str(expected),
            hash(expected),
            4,
            uuid.RFC_4122,
        )


def test_same_seed_same_rows_other_seed_other_rows(family):
    seeders = plan([Parents(), Children()])
    with family.transaction(force_rollback=True):
        report = seed(family, seeders, seed=7, scale=2)
        first = contents(family)
    with family.transaction(force_rollback=True):
        seed(family, seeders, seed=7, scale=2)
        again = contents(family)
    with family.transaction(force_rollback=True):
        seed(family, seeders, seed=8, scale=2)
        other = contents(family)
    assert [(r.name, r.rows) for r in report.results] == [("parents", 6), ("children", 12)]
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


@pytest.fixture(params=["checked per row", "checked after loading"])
def foreign_key_checks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a superuser's seeding checks foreign keys: per row (small tables) or set-based afterwards."""
    if request.param == "checked after loading":
        monkeypatch.setattr(foreign_keys, "WORTH_IT_FROM_ROWS", 0)
    return str(request.param)


def test_a_failing_seeder_keeps_nothing_and_names_itself(family, foreign_key_checks):
    with pytest.raises(SeedError, match=r"seeder 'broken' failed, nothing was kept: .*foreign key.*\(children\)"):
        seed(family, plan([Parents(), Broken()]), seed=1, scale=1)
    assert family.execute("select count(*) from public.parents").fetchone() == (0,)


class Twins(Seeder):
    """Two children of one age, where ages are unique (checked when the transaction ends)."""

    name = "twins"
    tables = ("public.children",)
    depends_on = ("parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        parent = ctx.shared["parents"][0]
        yield Batch("public.children", ("id", "parent_id", "age"), [(ctx.uuid(), parent, 7), (ctx.uuid(), parent, 7)])


class Grandchildren(Seeder):
    """A seeder after the twins: a failure of the twins' checks is still theirs."""

    name = "grandchildren"
    tables = ("public.parents",)
    depends_on = ("twins",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        yield Batch("public.parents", ("id", "name", "born"), [(ctx.uuid(), ctx.faker.name(), ctx.now)])


@pytest.mark.parametrize("last", [True, False], ids=["the-last-seeder", "followed-by-another"])
def test_a_deferred_check_failing_is_charged_to_its_seeder_and_keeps_nothing(family, last):
    family.execute("alter table public.children add unique (age) deferrable initially deferred")
    seeders = [Parents(), Twins()] if last else [Parents(), Twins(), Grandchildren()]
    with pytest.raises(
        SeedError, match=r"seeder 'twins' \(its deferred constraints\) failed, nothing was kept: .*duplicate key"
    ):
        seed(family, plan(seeders), seed=1, scale=1)
    assert family.execute("select count(*) from public.parents").fetchone() == (0,)


def test_deferred_constraints_stay_deferred_for_the_callers_transaction(family):
    """Checked when the seeder is done, then deferred again: the caller's later writes are not hurried."""
    family.execute("alter table public.parents add unique (name) deferrable initially deferred")
    with family.transaction(force_rollback=True):
        seed(family, plan([Parents()]), seed=1, scale=1)
        for _ in range(2):  # the same name twice: allowed until the check runs
            family.execute("insert into public.parents values (gen_random_uuid(), 'Same Name', now())")
        with pytest.raises(psycopg.errors.UniqueViolation):
            family.execute("set constraints all immediate")


def test_foreign_keys_checked_after_loading_are_on_again_and_hold_afterwards(family, monkeypatch):
    monkeypatch.setattr(foreign_keys, "WORTH_IT_FROM_ROWS", 0)
    seed(family, plan([Parents(), Children()]), seed=1, scale=1)
    states = family.execute(
        "select distinct tgenabled from pg_trigger where tgrelid = 'public.children'::regclass and tgisinternal"
    ).fetchall()
    assert states == [("O",)]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        family.execute("insert into public.children values (gen_random_uuid(), gen_random_uuid(), 3)")


def test_without_superuser_rights_each_row_is_checked_as_it_is_loaded(family):
    """Only a superuser may switch foreign key triggers off: anyone else gets Postgres' own per-row checks."""
    owner = f"p3t_seed_owner_{uuid.uuid4().hex[:8]}"
    family.execute(f"create role {owner}; grant usage, create on schema public to {owner}")
    family.execute(f"alter table public.parents owner to {owner}; alter table public.children owner to {owner}")
    try:
        family.execute(f"set role {owner}")
        with pytest.raises(
            SeedError, match=r"seeder 'broken' failed, nothing was kept: insert or update on table \"children\""
        ):
            seed(family, plan([Parents(), Broken()]), seed=1, scale=1)
        assert family.execute("select count(*) from public.parents").fetchone() == (0,)
    finally:
        family.execute("reset role")
        family.execute(f"drop owned by {owner}; drop role {owner}")


class Named(Seeder):
    """An update after the rows are in: every child turns 100 years older."""

    name = "named"
    tables = ("public.children",)
    depends_on = ("children",)

    def generate(self, ctx: SeedContext) -> Iterator[Step]:
        yield Update("public.children", "update public.children set age = age + 100")


def test_an_update_runs_after_the_batches_before_it_with_copy_and_in_sql(family):
    seeders = plan([Parents(), Children(), Named()])
    for load in (lambda: seed(family, seeders, seed=4, scale=1), lambda: family.execute(emit_sql(seeders, 4, 1))):
        with family.transaction(force_rollback=True):
            load()
            assert family.execute("select min(age) >= 100, count(*) from public.children").fetchone() == (True, 6)


class Numbered(Seeder):
    name = "numbered"
    tables = ("public.numbered",)

    def generate(self, ctx: SeedContext) -> Iterator[Step]:
        yield Batch("public.numbered", ("id", "label"), [(n, f"row {n}") for n in (1, 2, 7)])


def test_sequences_move_past_the_seeded_ids_so_the_next_insert_fits(empty_db):
    empty_db.execute("create table public.numbered (id bigint generated always as identity primary key, label text)")
    seeders = plan([Numbered()])
    for load in (lambda: seed(empty_db, seeders, 0, 1), lambda: empty_db.execute(emit_sql(seeders, 0, 1))):
        with empty_db.transaction(force_rollback=True):
            load()
            inserted = empty_db.execute("insert into public.numbered (label) values ('next') returning id").fetchone()
            assert inserted == (8,)


def test_emitted_sql_loads_the_same_rows_as_copy(family):
    seeders = plan([Parents(), Children()])
    with family.transaction(force_rollback=True):
        seed(family, seeders, seed=3, scale=1)
        copied = contents(family)
    with family.transaction(force_rollback=True):
        family.execute(emit_sql(seeders, seed=3, scale=1))
        assert contents(family) == copied


class Exploding(Seeder):
    """A seeder with a bug: it fails while generating, after a seeder whose rows are loaded already."""

    name = "exploding"
    tables = ("public.children",)
    depends_on = ("parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        raise RuntimeError("a bug in the seeder")
        yield  # a generator


def test_a_seeder_that_raises_is_named_keeps_nothing_and_leaves_the_connection_usable(family):
    family.execute("alter table public.parents add unique (name) deferrable initially deferred")
    with pytest.raises(SeedError, match=r"seeder 'exploding' failed while generating rows.*a bug in the seeder") as e:
        seed(family, plan([Parents(), Exploding()]), seed=1, scale=1)
    assert 'raise RuntimeError("a bug in the seeder")' in str(e.value)  # where, in the seeder's own code
    assert family.execute("select count(*) from public.parents").fetchone() == (0,)
    seed(family, plan([Parents()]), seed=1, scale=1)
    assert family.execute("select count(*) from public.parents").fetchone() == (3,)


class Vanishing(Seeder):
    """The process generating rows dies on the spot, as from the OOM killer: no exception, no last words."""

    name = "vanishing"
    tables = ("public.children",)
    depends_on = ("parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        os._exit(3)
        yield  # a generator


def seed_or_fail_if_it_hangs(*args: Any, within: float = 60) -> None:
    """seed(), on a thread: if it has not returned in time (waiting for a producer that will never answer,
    or one that was never stopped), the test fails instead of hanging."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            seed(*args)
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(within)
    if runner.is_alive():
        pytest.fail(f"seed() has not returned after {within:.0f} s")
    if outcome:
        raise outcome[0]


def test_the_generating_process_dying_fails_the_seeding_and_keeps_nothing(family):
    with pytest.raises(SeedError, match=r"seeder 'vanishing' .*the process generating rows ended \(exit code 3\)"):
        seed_or_fail_if_it_hangs(family, plan([Parents(), Vanishing()]), 1, 1)
    assert family.execute("select count(*) from public.parents").fetchone() == (0,)


class Endless(Seeder):
    """Generates batches for ever, after a seeder whose rows fail: only being stopped ends it."""

    name = "endless"
    tables = ("public.children",)
    depends_on = ("broken",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        parent = ctx.shared["parents"][0]
        while True:
            yield Batch("public.children", ("id", "parent_id", "age"), [(ctx.uuid(), parent, 1) for _ in range(5000)])


def test_a_failure_while_loading_stops_the_generating_process(family):
    """Loading fails on the broken seeder's batch while the producer generates on: it is stopped, not awaited."""
    with pytest.raises(SeedError, match="seeder 'broken' failed"):
        seed_or_fail_if_it_hangs(family, plan([Parents(), Broken(), Endless()]), 1, 1, within=30)


class Misspelt(Seeder):
    """Text where the column wants a number: COPY's input error names no table, only its context does."""

    name = "misspelt"
    tables = ("public.children",)
    depends_on = ("parents",)

    def generate(self, ctx: SeedContext) -> Iterator[Batch]:
        yield Batch("public.children", ("id", "parent_id", "age"), [(ctx.uuid(), ctx.shared["parents"][0], "ten")])


def test_a_value_the_column_refuses_names_the_seeder_the_table_and_the_column(family):
    with pytest.raises(
        SeedError, match=r"seeder 'misspelt' failed, .*integer: \"ten\" \(COPY children, line 1, column age"
    ):
        seed(family, plan([Parents(), Misspelt()]), seed=1, scale=1)


ORPHANING_LOADER = """
import os, sys, threading, time
from pathlib import Path
import psycopg
from phase3test.seeding import Batch, Seeder, plan, seed

class Endless(Seeder):
    name = "endless"
    tables = ("public.parents",)

    def generate(self, ctx):
        Path(sys.argv[2]).write_text(str(os.getpid()))
        while True:  # far more than the pipe holds, while nobody reads
            rows = [(ctx.uuid(), "x" * 200, ctx.now) for _ in range(5000)]
            yield Batch("public.parents", ("id", "name", "born"), rows)

def die_once_generating():
    while not Path(sys.argv[2]).exists():
        time.sleep(0.01)
    time.sleep(0.5)
    os._exit(9)  # the loader dies on the spot, as from kill -9

threading.Thread(target=die_once_generating, daemon=True).start()
with psycopg.connect(sys.argv[1]) as conn:
    seed(conn, plan([Endless()]), seed=1, scale=1)
"""


def test_the_producer_ends_when_the_loading_process_dies(family, tmp_path):
    """Killed loader: the producer's next send fails and it ends, instead of waiting on a full pipe forever."""
    script, pid_file = tmp_path / "loader.py", tmp_path / "producer.pid"
    script.write_text(ORPHANING_LOADER)
    loader = subprocess.run([sys.executable, str(script), family.info.dsn, str(pid_file)], timeout=60, check=False)
    assert loader.returncode == 9
    producer = ProcessId.of(int(pid_file.read_text()))
    try:
        assert wait_gone(producer, 10), f"the producer (pid {producer.pid}) outlived its loader by 10 s"
    finally:
        if producer.alive():  # never leave one behind, even when this fails
            os.kill(producer.pid, signal.SIGKILL)
