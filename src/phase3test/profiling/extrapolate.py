"""A figure measured at two scales, carried to production's row count.

Between the two measurements the figure grows as rows^k: k near 1 is a
scan or a rewrite (linear), near 0 a catalog change (constant), above 1 a
sort that spills or a plan that changed; the same k carries it to
production. Figures too short to have grown measurably are held constant,
a figure measured at one scale only (its table could not grow) is assumed
linear (so is one too short at the smaller scale to tell), k is capped at
MAX_EXPONENT, and any k outside LINEAR is said to be a guess. A statement
that reads every row of the table (a scan, a rewrite, a backfill) cannot
grow slower than the rows: its k is at least 1, whatever two one-shot
timings on a loaded machine said. A statement that reads no rows at all (it creates a policy, a trigger, a
function: a catalog change) does not grow with them: it is held as measured, however long a loaded machine
made it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NOISE_MS = 5.0  # below this a figure is timer and scheduling noise: it does not tell how it grows
LINEAR = (0.75, 1.3)
MAX_EXPONENT = 1.5  # a sort is n log n; a steeper pace between two one-shot timings is mostly noise


@dataclass(frozen=True)
class Estimate:
    """A figure at production's rows, from `measured_ms` at `rows` (and `smaller_ms` at `smaller_rows`)."""

    ms: float
    production_rows: int
    measured_ms: float
    rows: int
    smaller_ms: float | None
    smaller_rows: int
    exponent: float
    reads_every_row: bool = False  # its k was held at 1 or more
    reads_no_rows: bool = False  # a catalog change: held as measured

    @property
    def growth(self) -> str:
        """How the figure grows with the rows, in words a reviewer can weigh."""
        if self.reads_no_rows:
            return "reads no rows, so it does not grow with them"
        if self.measured_ms < NOISE_MS and self.smaller_ms is not None:
            return "too short to grow measurably"
        if self.smaller_ms is None or not 0 < self.smaller_rows < self.rows:
            return "measured at one scale, assumed linear"
        if self.smaller_ms < NOISE_MS:
            return "too short at the smaller scale to tell, assumed linear"
        if self.reads_every_row and self.exponent == 1.0:
            return "grows at least linearly: it reads every row"
        if LINEAR[0] <= self.exponent <= LINEAR[1]:
            return "grows linearly"
        pace = "faster" if self.exponent > LINEAR[1] else "slower"
        return f"grows as rows^{self.exponent:.1f}, {pace} than linear: the figure is a guess"

    def describe(self) -> str:
        """`≈ 8,400 ms at 10,000,000 rows (grows linearly: 410 ms at 500,000, 850 ms at 1,000,000)`."""
        seen = f"{self.measured_ms:,.0f} ms at {self.rows:,}"
        if self.smaller_ms is not None and 0 < self.smaller_rows < self.rows:
            seen = f"{self.smaller_ms:,.0f} ms at {self.smaller_rows:,}, {seen}"
        return f"≈ {self.ms:,.0f} ms at {self.production_rows:,} rows ({self.growth}: {seen})"


def extrapolate(
    measured_ms: float,
    rows: int,
    smaller_ms: float | None,
    smaller_rows: int,
    production_rows: int,
    reads_every_row: bool = False,
    reads_no_rows: bool = False,
) -> Estimate:
    """`measured_ms` at `rows` (and `smaller_ms` at `smaller_rows`, if measured) carried to `production_rows`;
    with `reads_every_row`, at least linearly unless too short to matter; with `reads_no_rows` (it read no
    table, rewrote none and changed no row: a catalog change), as measured."""
    if reads_no_rows:
        return Estimate(measured_ms, production_rows, measured_ms, rows, smaller_ms, smaller_rows, 0.0,
                        reads_no_rows=True)  # fmt: skip
    if measured_ms < NOISE_MS and smaller_ms is not None:
        exponent = 0.0
    elif smaller_ms is None or not 0 < smaller_rows < rows or smaller_ms < NOISE_MS:
        exponent = 1.0
    else:
        ratio = max(measured_ms, 1e-6) / max(smaller_ms, 1e-6)
        exponent = min(MAX_EXPONENT, max(0.0, math.log(ratio) / math.log(rows / smaller_rows)))
    if reads_every_row and measured_ms >= NOISE_MS:
        exponent = max(exponent, 1.0)
    scale = production_rows / rows if rows else 1.0
    ms = measured_ms * scale**exponent if scale > 1 else measured_ms
    return Estimate(ms, production_rows, measured_ms, rows, smaller_ms, smaller_rows, exponent, reads_every_row)
