"""Figures carried to production's rows at the pace they grew between two scales, and the row counts the
settings ask for: what a reviewer reads as "≈ 8 s at 10M rows" must follow from what was measured."""

from __future__ import annotations

import pytest

from phase3test.errors import SetupError
from phase3test.profiling.extrapolate import extrapolate
from phase3test.profiling.scale import RowCounts, parse_row_counts, production


def test_a_figure_that_doubled_with_the_rows_grows_tenfold_with_ten_times_the_rows():
    estimate = extrapolate(800.0, 1_000_000, 400.0, 500_000, 10_000_000)
    assert estimate.exponent == pytest.approx(1.0) and estimate.ms == pytest.approx(8000.0)
    assert estimate.growth == "grows linearly"
    assert (
        estimate.describe() == "≈ 8,000 ms at 10,000,000 rows (grows linearly: 400 ms at 500,000, 800 ms at 1,000,000)"
    )


def test_a_figure_that_grew_faster_than_the_rows_is_carried_at_its_pace_up_to_a_cap_and_called_a_guess():
    estimate = extrapolate(280.0, 1_000_000, 200.0, 500_000, 2_000_000)  # x1.4 for x2: rows^0.49
    assert estimate.ms == pytest.approx(392.0, rel=0.01)
    assert estimate.growth == "grows as rows^0.5, slower than linear: the figure is a guess"
    steep = extrapolate(400.0, 1_000_000, 100.0, 500_000, 4_000_000)  # x4 for x2 is rows^2: capped at rows^1.5
    assert steep.ms == pytest.approx(3200.0) and steep.growth.startswith("grows as rows^1.5, faster than linear")


def test_a_figure_too_short_to_grow_stays_as_it_is_and_one_scale_is_assumed_linear():
    short = extrapolate(0.9, 1_000_000, 0.1, 500_000, 10_000_000)  # x9 of noise must not become x9^3.3
    assert short.ms == pytest.approx(0.9) and short.growth == "too short to grow measurably"
    unclear = extrapolate(30.0, 1_000_000, 2.0, 500_000, 10_000_000)  # x15 from a figure of noise: linear
    assert unclear.ms == pytest.approx(300.0) and unclear.growth.endswith("to tell, assumed linear")
    alone = extrapolate(50.0, 40, None, 40, 400)
    assert alone.ms == pytest.approx(500.0) and alone.growth == "measured at one scale, assumed linear"


def test_production_smaller_than_the_profile_keeps_the_measured_figure():
    assert extrapolate(800.0, 1_000_000, 400.0, 500_000, 10_000).ms == 800.0


def test_the_largest_table_gets_the_rows_asked_for_and_the_others_keep_their_proportion():
    wanted = parse_row_counts("1000000 events=50")
    assert wanted == RowCounts(1_000_000, (("public.events", 50),))
    now = {"public.orders": 500, "public.lines": 2000, "public.events": 10, "public.empty": 0}
    assert wanted.of(now) == {
        "public.orders": 250_000,
        "public.lines": 1_000_000,
        "public.events": 50,
        "public.empty": 0,
    }
    assert str(wanted) == "1000000 public.events=50"


def test_production_rows_default_to_ten_times_the_measured_ones_unless_set():
    measured = {"public.orders": 1000, "public.lines": 4000}
    assert production(measured, RowCounts()) == {"public.orders": 10_000, "public.lines": 40_000}
    assert production(measured, parse_row_counts("orders=7")) == {"public.orders": 7, "public.lines": 40_000}
    assert production(measured, parse_row_counts("8000")) == {"public.orders": 2000, "public.lines": 8000}


@pytest.mark.parametrize("text", ["many", "orders=", "orders=0", "=5", "1e6"])
def test_a_row_count_that_is_not_one_is_refused_naming_it(text):
    with pytest.raises(SetupError, match="not a row count"):
        parse_row_counts(text)


def test_a_statement_that_reads_every_row_grows_at_least_linearly_whatever_two_timings_said():
    """An index build timed 61 ms at 50,000 rows and 57 ms at 100,000 on a loaded machine (seen in CI) is not
    constant: it reads every row, so 100,000,000 rows take at least a thousand times as long."""
    noisy = extrapolate(57.0, 100_000, 61.0, 50_000, 100_000_000, reads_every_row=True)
    assert noisy.ms == 57_000.0 and noisy.growth == "grows at least linearly: it reads every row"
    assert extrapolate(57.0, 100_000, 61.0, 50_000, 100_000_000).exponent == 0.0  # without it: held constant
    steeper = extrapolate(400.0, 1_000_000, 100.0, 500_000, 4_000_000, reads_every_row=True)
    assert steeper.exponent == 1.5  # faster than linear stays faster
    assert extrapolate(2.0, 1_000_000, 1.0, 500_000, 10_000_000, reads_every_row=True).ms == 2.0  # noise stays


def test_a_statement_that_reads_no_rows_is_held_as_measured_even_slow_and_at_one_scale():
    """A policy rebuilt on a loaded machine took 41 ms, its table could not grow (one scale): that said
    1.8 s at production's rows (seen in CI). It read no row: a catalog change does not grow with them."""
    held = extrapolate(41.0, 44, None, 44, 2_200, reads_no_rows=True)
    assert (held.ms, held.exponent) == (41.0, 0.0)
    assert held.growth == "reads no rows, so it does not grow with them"
    assert extrapolate(41.0, 44, None, 44, 2_200).ms == 41.0 * 50  # without it: assumed linear
