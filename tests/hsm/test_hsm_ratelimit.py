"""Each caller uid gets its own token bucket: a burst, then a sustained rate."""

from __future__ import annotations

import pytest

from hsm.ratelimit import CallerRateLimit, RateSpecError


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limit = CallerRateLimit(rate=10, burst=3, clock=clock)
    assert [limit.allow(6111) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.1
    assert [limit.allow(6111) for _ in range(2)] == [True, False]


def test_the_bucket_refills_up_to_the_burst_only() -> None:
    clock = Clock()
    limit = CallerRateLimit(rate=10, burst=3, clock=clock)
    limit.allow(6111)
    clock.now += 3600
    assert [limit.allow(6111) for _ in range(4)] == [True, True, True, False]


def test_one_uid_spending_its_bucket_leaves_the_others_alone() -> None:
    limit = CallerRateLimit(rate=1, burst=2, clock=Clock())
    while limit.allow(6111):
        pass
    assert limit.allow(6112)
    assert limit.allow(0)


def test_a_clock_going_back_gives_no_extra_requests() -> None:
    clock = Clock()
    limit = CallerRateLimit(rate=10, burst=1, clock=clock)
    assert limit.allow(6111)
    clock.now -= 60
    assert not limit.allow(6111)


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (10, 0), (float("nan"), 10)])
def test_a_rate_or_burst_that_allows_nothing_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(RateSpecError):
        CallerRateLimit(rate, burst)
