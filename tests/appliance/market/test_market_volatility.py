"""Rolling and EWMA volatility of the mid, in bps per square root of a second."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.market.volatility import EwmaVolatility, RollingVolatility

STEP = math.log(Fraction(101, 100))  # the log return of a move between 100 and 101 ticks


def alternate(volatility: RollingVolatility | EwmaVolatility, start: float, count: int,
              every: float, low: int = 100, high: int = 101) -> float:
    """Feed mids alternating low, high, low… every `every` seconds; return the last time."""
    now = start
    for i in range(count):
        now = start + i * every
        volatility.update(now, low if i % 2 == 0 else high)
    return now


def test_a_constant_mid_has_no_volatility() -> None:
    rolling, ewma = RollingVolatility(10.0), EwmaVolatility(5.0)
    for i in range(50):
        rolling.update(i * 0.5, Fraction(20_001, 2))
        ewma.update(i * 0.5, Fraction(20_001, 2))
    assert rolling.bps == 0.0
    assert ewma.bps == 0.0


def test_an_alternating_mid_matches_the_hand_computation() -> None:
    rolling, ewma = RollingVolatility(10.0), EwmaVolatility(5.0)
    alternate(rolling, 0.0, 5, 0.5)
    alternate(ewma, 0.0, 5, 0.5)
    # Returns +s, -s, +s, -s: mean 0, sample variance 4s²/3, one return per 0.5 s.
    assert rolling.bps == pytest.approx(10_000 * STEP * math.sqrt(4 / 3 / 0.5))
    # Every return has the same variance per second, s² / 0.5, so the average is exactly it.
    assert ewma.bps == pytest.approx(10_000 * STEP * math.sqrt(1 / 0.5))


def test_too_few_samples_give_zero() -> None:
    rolling, ewma = RollingVolatility(10.0), EwmaVolatility(5.0)
    ewma.update(0.0, 100)
    assert ewma.bps == 0.0
    alternate(rolling, 0.0, 2, 1.0)
    assert rolling.bps == 0.0
    ewma.update(1.0, 101)
    assert ewma.bps > 0.0


def test_samples_no_later_than_the_last_are_ignored() -> None:
    rolling = RollingVolatility(10.0)
    alternate(rolling, 0.0, 5, 1.0)
    before = rolling.bps
    rolling.update(4.0, 150)
    rolling.update(3.5, 150)
    assert rolling.bps == before


def test_the_rolling_window_forgets_an_old_regime_entirely() -> None:
    rolling = RollingVolatility(10.0)
    end = alternate(rolling, 0.0, 40, 1.0, 100, 110)
    now = alternate(rolling, end + 1.0, 12, 1.0, 100, 101)
    # Only the ten returns starting at or after now - 10 s count: -s, +s, … once a second.
    assert now == 51.0
    calm = [-STEP if i % 2 == 0 else STEP for i in range(10)]
    assert rolling.bps == pytest.approx(10_000 * statistics.stdev(calm))


# Times and windows in quarter seconds are exact floats, so samples often sit on the window's edge.
def test_a_flat_mid_after_a_wild_one_reads_exactly_zero_once_the_window_passes() -> None:
    rolling = RollingVolatility(10.0)
    end = alternate(rolling, 0.0, 500, 0.25, 100, 173)
    for i in range(1, 60):
        rolling.update(end + i * 0.25, 150)
    assert rolling.bps == 0.0


@given(st.lists(st.tuples(st.integers(1, 12), st.integers(90, 110)), min_size=1, max_size=60),
       st.integers(1, 40))
def test_rolling_equals_a_plain_recomputation_after_every_sample(
    samples: list[tuple[int, int]], window_quarters: int,
) -> None:
    window = window_quarters / 4
    rolling = RollingVolatility(window)
    times: list[float] = []
    mids: list[int] = []
    now = 0.0
    for gap, mid in samples:
        now += gap / 4
        times.append(now)
        mids.append(mid)
        rolling.update(now, mid)
        pairs = [(t1 - t0, math.log(m1) - math.log(m0))
                 for t0, t1, m0, m1 in zip(times, times[1:], mids, mids[1:], strict=False)
                 if t0 >= now - window]
        if len(pairs) < 2:
            assert rolling.bps == 0.0
            continue
        mean_interval = sum(dt for dt, _ in pairs) / len(pairs)
        expected = 10_000 * statistics.stdev(r for _, r in pairs) / math.sqrt(mean_interval)
        assert rolling.bps == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_ewma_converges_to_a_new_regime_by_its_half_life() -> None:
    ewma = EwmaVolatility(halflife_s=4.0)
    end = alternate(ewma, 0.0, 21, 1.0, 100, 110)
    wild, calm = math.log(Fraction(110, 100)) ** 2, STEP**2
    assert ewma.bps == pytest.approx(10_000 * math.sqrt(wild))
    now = alternate(ewma, end + 1.0, 60, 1.0, 101, 100)
    # Sixty calm returns, one a second: the wild variance keeps 2^-(60/4) of its weight.
    kept = 0.5 ** ((now - end) / 4.0)
    assert ewma.bps == pytest.approx(10_000 * math.sqrt(kept * wild + (1 - kept) * calm))
    assert ewma.bps == pytest.approx(10_000 * STEP, rel=0.01)


def test_nonsense_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        RollingVolatility(0.0)
    with pytest.raises(ValueError, match="half-life must be positive"):
        EwmaVolatility(-1.0)
    with pytest.raises(ValueError, match="mid price must be positive"):
        EwmaVolatility(1.0).update(0.0, 0)
