"""Each caller uid gets its own token bucket: a burst, then a sustained rate."""

from __future__ import annotations

import pytest

from appliance.pacing.token_bucket import RateSpecError
from hsm.ratelimit import CallerRateLimit


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_on_the_signers_clock() -> None:
    clock = Clock()
    limit = CallerRateLimit(rate=10, burst=3, clock=clock)
    assert [limit.allow(6111) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.1
    assert [limit.allow(6111) for _ in range(2)] == [True, False]


def test_one_uid_spending_its_bucket_leaves_the_others_alone() -> None:
    limit = CallerRateLimit(rate=1, burst=2, clock=Clock())
    while limit.allow(6111):
        pass
    assert limit.allow(6112)
    assert limit.allow(0)


def test_a_uid_first_seen_late_starts_with_a_full_burst() -> None:
    clock = Clock()
    limit = CallerRateLimit(rate=1, burst=2, clock=clock)
    clock.now += 3600
    assert [limit.allow(6111) for _ in range(3)] == [True, True, False]


def test_a_limit_that_allows_nothing_is_refused_when_made_not_at_the_first_request() -> None:
    with pytest.raises(RateSpecError, match="burst"):
        CallerRateLimit(rate=10, burst=0)
