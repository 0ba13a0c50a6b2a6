"""Exponential backoff: how long to wait before the next try after failures in a row."""

from __future__ import annotations

MAX_DOUBLINGS = 32
"""Past this many failures the delay has long reached any cap; stop doubling before it overflows."""


class Backoff:
    """Delays that double after each failure, from `first_s` up to `cap_s`, until a success."""

    def __init__(self, first_s: float, cap_s: float) -> None:
        self.first_s = first_s
        self.cap_s = cap_s
        self.failures = 0
        """Failures since the last success."""
        self.retries = 0
        """Every retry so far, successes notwithstanding."""

    def delay(self, failures: int) -> float:
        """Return how long to wait after `failures` failures in a row (1 for the first)."""
        return min(self.cap_s, self.first_s * 2.0 ** min(max(failures - 1, 0), MAX_DOUBLINGS))

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait before the next try."""
        self.failures += 1
        self.retries += 1
        return self.delay(self.failures)

    def reset(self) -> None:
        """Start from the first delay again: the last try succeeded."""
        self.failures = 0
