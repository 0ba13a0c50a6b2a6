"""Count events within a time window: the last few seconds, or the current UTC day.

`now` is Unix time in seconds, passed in by the caller; nothing here reads a clock.
"""

from __future__ import annotations

from collections import deque

DAY_S = 86_400


class RollingWindow:
    """Events less than `span_s` seconds old; an event exactly `span_s` old has left."""

    def __init__(self, span_s: float) -> None:
        self.span_s = span_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> int:
        """Count one event at `now`; return how many the window holds."""
        self._times.append(now)
        return self.count(now)

    def count(self, now: float) -> int:
        """Return how many events happened less than `span_s` before `now`."""
        while self._times and now - self._times[0] >= self.span_s:
            self._times.popleft()
        return len(self._times)

    def clear(self) -> None:
        """Forget every event."""
        self._times.clear()


class DailyWindow:
    """Events of the current UTC day; the count starts again at midnight."""

    def __init__(self) -> None:
        self._day = 0
        self._count = 0

    def add(self, now: float) -> int:
        """Count one event at `now`; return how many the day holds."""
        self._count = self.count(now) + 1
        return self._count

    def count(self, now: float) -> int:
        """Return how many events happened on the UTC day of `now`."""
        day = int(now // DAY_S)
        if day != self._day:
            self._day, self._count = day, 0
        return self._count

    def clear(self) -> None:
        """Forget every event."""
        self._count = 0
