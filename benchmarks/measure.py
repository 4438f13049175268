"""Timing helpers: a stopwatch, repeated samples and their summary, readable durations and ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Stopwatch:
    """Elapsed seconds of a `with stopwatch() as watch:` block, set when the block ends."""

    elapsed: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    started = time.perf_counter()
    try:
        yield watch
    finally:
        watch.elapsed = time.perf_counter() - started


@dataclass(frozen=True)
class Stats:
    """Samples in seconds; each is one run, or the mean of one batch of runs."""

    samples: tuple[float, ...]
    batch: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def to_json(self) -> dict[str, object]:
        return {
            "unit": "s",
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "samples": list(self.samples),
            "batch": self.batch,
        }


def repeat(once: Callable[[], float], times: int, warmup: int = 0) -> Stats:
    """Call `once` (which returns the seconds it measured) `warmup` + `times` times; keep the last `times`."""
    for _ in range(warmup):
        once()
    return Stats(tuple(once() for _ in range(times)))


def per_operation(operation: Callable[[], object], times: int, batch: int, warmup: int = 0) -> Stats:
    """`times` samples, each the mean duration of `batch` back-to-back calls of `operation`."""
    for _ in range(warmup):
        operation()
    samples = []
    for _ in range(times):
        with stopwatch() as watch:
            for _ in range(batch):
                operation()
        samples.append(watch.elapsed / batch)
    return Stats(tuple(samples), batch)


def duration(seconds: float) -> str:
    """A duration with about three significant digits, in s, ms or µs; whole numbers stay whole."""
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale or unit == "µs":
            value = seconds / scale
            if abs(value - round(value)) < 1e-9:
                return f"{value:.0f} {unit}"
            if value >= 100 or unit == "µs":
                return f"{value:.0f} {unit}"
            return f"{value:.1f} {unit}" if value >= 10 else f"{value:.2f} {unit}"
    raise AssertionError("unreachable")


def factor(baseline: float, ours: float) -> float:
    """How many times faster `ours` is than `baseline` (below 1: slower)."""
    return baseline / ours if ours > 0 else float("inf")


def speedup(baseline: float, ours: float) -> str:
    """'23x faster', '1.4x slower' or 'as fast'."""
    return ratio_text(factor(baseline, ours))


def ratio_text(ratio: float) -> str:
    """A factor from `factor` in words."""
    if 0.95 <= ratio <= 1.05:
        return "as fast"
    if ratio >= 1:
        return f"{_times(ratio)} faster"
    return f"{_times(1 / ratio)} slower"


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"
