"""Failed logins are limited per address and per key, in a sliding window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.ui.auth.auth_bed import Clock
from ui.auth.throttle import LoginThrottle


def test_the_limit_holds_per_address_and_per_key_until_the_oldest_failure_leaves() -> None:
    clock = Clock()
    throttle = LoginThrottle(limit=3, window_s=100, clock=clock)
    for _ in range(3):
        assert throttle.wait("10.0.0.1", "key-a") == 0
        throttle.failed("10.0.0.1", "key-a")
        clock.now += 10
    assert throttle.wait("10.0.0.1", "key-b") == 70  # the address is spent
    assert throttle.wait("10.0.0.2", "key-a") == 70  # so is the key
    assert throttle.wait("10.0.0.2", "key-b") == 0
    clock.now += 70
    assert throttle.wait("10.0.0.1", "key-a") == 0


def test_a_success_forgets_the_failures_of_its_address_and_key() -> None:
    throttle = LoginThrottle(limit=2, window_s=100, clock=Clock())
    throttle.failed("10.0.0.1", "key-a")
    throttle.failed("10.0.0.1", "key-a")
    assert throttle.wait("10.0.0.1", "key-a") > 0
    throttle.succeeded("10.0.0.1", "key-a")
    assert throttle.wait("10.0.0.1", "key-a") == 0


@given(st.lists(st.tuples(st.floats(0, 50), st.sampled_from(["a", "b"])), max_size=40))
def test_never_more_than_the_limit_of_failures_get_through_in_a_window(
    steps: list[tuple[float, str]],
) -> None:
    clock = Clock(0.0)
    throttle = LoginThrottle(limit=3, window_s=100, clock=clock)
    tried: list[float] = []
    for gap, address in steps:
        clock.now += gap
        if throttle.wait(address, "key") == 0:
            throttle.failed(address, "key")
            tried.append(clock.now)
    assert all(sum(1 for t in tried if start <= t < start + 100) <= 3 for start in tried)
