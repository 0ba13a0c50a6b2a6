"""Keep the box within an exchange's request rate: a token bucket per exchange."""

from __future__ import annotations


class RateBudget:
    """A token bucket: `capacity` requests at once, refilled at `per_second`."""

    def __init__(self, capacity: int, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._tokens = float(capacity)
        self._at = now

    def available(self, now: float) -> int:
        """Return how many requests may go now."""
        self._refill(now)
        return int(self._tokens)

    def take(self, now: float, count: int = 1) -> bool:
        """Spend `count` requests if the budget has them; return whether it did."""
        self._refill(now)
        if self._tokens < count:
            return False
        self._tokens -= count
        return True

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.capacity), self._tokens + elapsed * self.per_second)
        self._at = now
