"""`--shard i/n`: the share of a gate's tests one of n CI runners runs.

Every runner collects the same tests and must pick the same split without
talking to the others, so the split is a pure function of the test ids and,
when a previous report is given, their durations: longest first onto the
least loaded shard (ties: the lower test id, the lower shard). Without
durations every test weighs the same, which deals the sorted ids out in turn:
shards then differ by at most one test. A test the previous report does not
know weighs the median of those it does.
"""

from __future__ import annotations

import heapq
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from phase3test.errors import SetupError

_SPELLING = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")
BY_DURATIONS, BY_COUNT = "durations", "count"


@dataclass(frozen=True)
class Shard:
    """Shard `index` (from 1) of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SPELLING.fullmatch(text)
        index, count = (int(match[1]), int(match[2])) if match else (0, 0)
        if not 1 <= index <= count:
            raise SetupError(
                f"{text!r} is not a shard", hint="write i/n with 1 <= i <= n: --shard 2/3 is the second of three"
            )
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, test_ids: Sequence[str], durations: Mapping[str, float] | None = None) -> set[str]:
        """The ids of `test_ids` this shard runs."""
        return set(split(test_ids, self.count, durations)[self.index - 1])

    def to_json(self, durations: Mapping[str, float] | None) -> dict[str, object]:
        return {"index": self.index, "count": self.count, "balanced_by": BY_DURATIONS if durations else BY_COUNT}


def split(test_ids: Sequence[str], count: int, durations: Mapping[str, float] | None = None) -> list[list[str]]:
    """`test_ids` dealt into `count` shards of about equal total weight, each in the order given."""
    weight = _weights(test_ids, durations or {})
    loads = [(0.0, shard) for shard in range(count)]  # a heap: the least loaded shard first
    assigned: dict[str, int] = {}
    for test in sorted(set(test_ids), key=lambda test: (-weight[test], test)):
        load, shard = heapq.heappop(loads)
        assigned[test] = shard
        heapq.heappush(loads, (load + weight[test], shard))
    shards: list[list[str]] = [[] for _ in range(count)]
    for test in test_ids:
        shards[assigned[test]].append(test)
    return shards


def _weights(test_ids: Sequence[str], durations: Mapping[str, float]) -> dict[str, float]:
    known = [durations[test] for test in test_ids if test in durations]
    unknown = statistics.median(known) if known else 1.0
    return {test: max(durations.get(test, unknown), 0.0) if known else 1.0 for test in test_ids}


def durations_of(report: Mapping[str, object]) -> dict[str, float]:
    """Each test's duration in a report.json (setup, call and teardown); empty for a report without them."""
    tests = report.get("tests")
    if not isinstance(tests, dict):
        return {}
    return {test: float(entry["duration_s"]) for test, entry in tests.items() if isinstance(entry, dict)}
