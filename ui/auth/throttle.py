"""Limit failed logins per client address and per operator key, before the token is touched.

After `limit` failures within `window_s` seconds from one address, or against one key, further
attempts from it are refused until the oldest failure leaves the window. A refused attempt
never reaches the signer, so it costs the key no PIN try. A success forgets the failures of its
address and key. The signer keeps its own count of wrong PINs on top of this one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

LIMIT = 5
"""Failed logins allowed in one window, per address and per key."""

WINDOW_S = 300.0
"""Seconds a failed login counts against its address and key."""

MAX_TRACKED = 10_000
"""Addresses and keys remembered at most; the least recently failed are forgotten first."""


class LoginThrottle:
    """Failed logins by address and by key, each in a sliding window."""

    def __init__(
        self, limit: int = LIMIT, window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a login throttle needs a limit of at least 1 and a positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def wait(self, address: str, key: str) -> float:
        """Return the seconds until `address` may try `key` again: 0 when it may now."""
        now = self._clock()
        return max(self._wait(f"address {address}", now), self._wait(f"key {key}", now))

    def failed(self, address: str, key: str) -> None:
        """Count one failed login from `address` against `key`."""
        now = self._clock()
        for name in (f"address {address}", f"key {key}"):
            times = self._failures.pop(name, None) or deque()
            times.append(now)
            self._failures[name] = times  # the newest failure last, for forgetting the oldest
        while len(self._failures) > MAX_TRACKED:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, address: str, key: str) -> None:
        """Forget the failures of `address` and `key`."""
        self._failures.pop(f"address {address}", None)
        self._failures.pop(f"key {key}", None)

    def _wait(self, name: str, now: float) -> float:
        times = self._failures.get(name)
        if times is None:
            return 0.0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[name]
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.window_s - now
