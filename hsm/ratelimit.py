"""Limit how fast each caller uid may ask the signer: one token bucket per uid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class RateSpecError(ValueError):
    """A rate or burst is not a positive number."""


@dataclass
class _Bucket:
    tokens: float
    filled_at: float


class CallerRateLimit:
    """Let each uid make `burst` requests at once, then `rate` per second."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0 or not burst >= 1:
            raise RateSpecError("the rate must be above 0 per second and the burst at least 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def allow(self, uid: int) -> bool:
        """Take one request from uid's bucket; tell whether there was one to take."""
        now = self._clock()
        bucket = self._buckets.get(uid)
        if bucket is None:
            bucket = self._buckets[uid] = _Bucket(self._burst, now)
        else:
            elapsed = max(0.0, now - bucket.filled_at)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
            bucket.filled_at = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True
