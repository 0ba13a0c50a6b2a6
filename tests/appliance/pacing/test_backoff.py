"""Waits after failures double from the first delay up to the cap, and start over on success."""

from __future__ import annotations

from appliance.pacing.backoff import Backoff


def test_retries_wait_twice_as_long_each_time_up_to_the_cap_until_a_success() -> None:
    backoff = Backoff(first_s=0.5, cap_s=30.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays[:3] == [0.5, 1.0, 2.0]
    assert max(delays) == 30.0 and delays[-1] == 30.0
    backoff.reset()
    assert backoff.next_delay() == 0.5
    assert backoff.retries == 11, "retries count across successes"


def test_the_delay_of_the_nth_failure_needs_no_state() -> None:
    backoff = Backoff(first_s=1.0, cap_s=30.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert backoff.failures == 0 and backoff.retries == 0


def test_a_long_outage_waits_the_cap_without_overflowing() -> None:
    backoff = Backoff(first_s=0.5, cap_s=30.0)
    assert backoff.delay(10_000) == 30.0
