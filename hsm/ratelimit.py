"""Limit how fast each caller uid may ask the signer: one token bucket per uid."""

from __future__ import annotations

import time
from collections.abc import Callable

from appliance.pacing.token_bucket import TokenBucket


class CallerRateLimit:
    """Let each uid make `burst` requests at once, then `rate` per second."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        # A bucket now, so that a rate or burst that lets nothing through is refused at start
        # (TokenBucket raises RateSpecError), not at the first request.
        TokenBucket(burst, rate, clock())
        self._buckets: dict[int, TokenBucket] = {}

    def allow(self, uid: int) -> bool:
        """Take one request from uid's bucket; tell whether there was one to take."""
        now = self._clock()
        bucket = self._buckets.get(uid)
        if bucket is None:
            bucket = self._buckets[uid] = TokenBucket(self._burst, self._rate, now)
        return bucket.take(now)
