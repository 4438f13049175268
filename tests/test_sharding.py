"""`--shard i/n`: every test in exactly one shard, the same split on every runner, shards of about equal weight."""

from __future__ import annotations

import random
import statistics

import pytest

from phase3test.errors import SetupError
from phase3test.sharding import Shard, durations_of, split

TESTS = [f"suites/test_{suite}.py::test_it[{n:04d}]" for suite in ("access", "rollbacks", "static") for n in range(97)]


def test_every_test_runs_in_exactly_one_shard_and_counts_differ_by_at_most_one() -> None:
    shards = split(TESTS, 4)
    assert sorted(test for shard in shards for test in shard) == sorted(TESTS)
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1, sizes


def test_every_runner_picks_the_same_split_whatever_order_it_collected_in() -> None:
    shuffled = TESTS[:]
    random.Random(7).shuffle(shuffled)
    picked = [Shard(index, 3).select(TESTS) for index in (1, 2, 3)]
    assert picked == [Shard(index, 3).select(shuffled) for index in (1, 2, 3)]
    assert split(TESTS, 3)[0] == [test for test in TESTS if test in picked[0]]  # a shard keeps the collection order


def test_with_durations_the_shards_take_about_the_same_time() -> None:
    """A few long tests (a profile at scale) among many short ones: by count one shard could get them all."""
    durations = {test: 0.01 for test in TESTS}
    heavy = TESTS[::50]
    durations.update({test: 30.0 + n for n, test in enumerate(heavy)})
    shards = split(TESTS, 3, durations)
    loads = [sum(durations[test] for test in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(durations.values()), loads
    by_count = [sum(durations[test] for test in shard) for shard in split(TESTS, 3)]
    assert max(loads) < max(by_count)  # the durations did something the count could not


def test_a_test_the_earlier_report_does_not_know_weighs_the_median() -> None:
    known = {test: 1.0 for test in TESTS[:-30]}
    known[TESTS[0]] = 100.0
    shards = split(TESTS, 2, known)
    weights = [sum(known.get(test, statistics.median(known.values())) for test in shard) for shard in shards]
    assert abs(weights[0] - weights[1]) <= 100.0
    assert sorted(test for shard in shards for test in shard) == sorted(TESTS)


def test_more_shards_than_tests_leaves_the_last_ones_empty() -> None:
    shards = split(TESTS[:2], 5)
    assert [len(shard) for shard in shards] == [1, 1, 0, 0, 0]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "2", "a/b", "-1/2", ""])
def test_a_shard_that_is_not_i_of_n_is_refused_saying_how_to_write_one(text: str) -> None:
    with pytest.raises(SetupError) as raised:
        Shard.parse(text)
    assert "is not a shard" in str(raised.value) and "2/3" in str(raised.value)


def test_shards_are_written_as_they_are_read() -> None:
    assert str(Shard.parse(" 2 / 3 ")) == "2/3" and Shard.parse("3/3") == Shard(3, 3)


def test_durations_come_from_a_reports_tests_and_an_older_report_has_none() -> None:
    report = {
        "tests": {"a::x": {"outcome": "passed", "duration_s": 1.5}, "a::y": {"outcome": "failed", "duration_s": 0}}
    }
    assert durations_of(report) == {"a::x": 1.5, "a::y": 0.0}
    assert durations_of({"format": 1}) == {}
