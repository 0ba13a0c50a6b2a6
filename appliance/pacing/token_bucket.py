"""A token bucket: a burst of requests at once, then a sustained rate."""

from __future__ import annotations


class RateSpecError(ValueError):
    """A bucket's capacity or refill rate would let nothing through."""


class TokenBucket:
    """Let `capacity` requests go at once, refilled at `per_second`; time comes from the caller."""

    def __init__(self, capacity: int, per_second: float, now: float) -> None:
        if not capacity >= 1 or not per_second > 0:
            raise RateSpecError(
                f"a burst of {capacity} at {per_second} per second lets nothing through: "
                "set the rate above 0 per second and the burst to at least 1")
        self.capacity = capacity
        self.per_second = per_second
        self._tokens = float(capacity)
        self._at = now

    def available(self, now: float) -> int:
        """Return how many requests may go now."""
        self._refill(now)
        return int(self._tokens)

    def take(self, now: float, count: int = 1) -> bool:
        """Spend `count` requests if the bucket has them; return whether it did."""
        self._refill(now)
        if self._tokens < count:
            return False
        self._tokens -= count
        return True

    def _refill(self, now: float) -> None:
        # A clock that went back gives nothing, and the bucket counts from the new reading.
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.per_second)
        self._at = now
