"""A token bucket lets a burst go at once, then refills at its rate up to its capacity."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.pacing.token_bucket import RateSpecError, TokenBucket


def test_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(capacity=3, per_second=10, now=1000.0)
    assert [bucket.take(1000.0) for _ in range(4)] == [True, True, True, False]
    assert [bucket.take(1000.1) for _ in range(2)] == [True, False]


def test_the_bucket_refills_up_to_its_capacity_only() -> None:
    bucket = TokenBucket(capacity=5, per_second=2, now=0.0)
    assert bucket.take(0.0, 5)
    assert not bucket.take(0.0)
    assert bucket.available(1.0) == 2
    assert bucket.available(100.0) == 5


def test_taking_more_than_there_is_takes_nothing() -> None:
    bucket = TokenBucket(capacity=5, per_second=1, now=0.0)
    assert not bucket.take(0.0, 6)
    assert bucket.available(0.0) == 5


def test_a_clock_going_back_gives_no_extra_requests() -> None:
    bucket = TokenBucket(capacity=1, per_second=2, now=1000.0)
    assert bucket.take(1000.0)
    assert not bucket.take(940.0)
    assert bucket.available(940.25) == 0
    assert bucket.available(940.5) == 1


@given(capacity=st.integers(1, 50), per_second=st.floats(0.1, 100),
       steps=st.lists(st.tuples(st.floats(0, 10), st.integers(1, 5)), max_size=30))
def test_no_more_goes_than_the_burst_plus_the_refill(
    capacity: int, per_second: float, steps: list[tuple[float, int]]
) -> None:
    bucket, now, sent = TokenBucket(capacity, per_second, 0.0), 0.0, 0
    for wait, count in steps:
        now += wait
        sent += count if bucket.take(now, count) else 0
    assert sent <= capacity + now * per_second + 1e-9


@pytest.mark.parametrize(("capacity", "per_second"),
                         [(0, 10), (-1, 10), (10, 0), (10, -1), (10, math.nan)])
def test_a_bucket_that_lets_nothing_through_is_refused(capacity: int, per_second: float) -> None:
    with pytest.raises(RateSpecError, match="rate above 0 per second and the burst to at least 1"):
        TokenBucket(capacity, per_second, 0.0)
