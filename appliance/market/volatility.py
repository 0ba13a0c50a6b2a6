"""Volatility of the mid price, in basis points per square root of a second.

Both estimators take mid samples `(now, mid)` and work on the log return between each sample
and the one before; a sample no later than the previous one is ignored. Each update is O(1)
amortised. Volatility is a statistic, so it is a float; it never becomes a price.
"""

from __future__ import annotations

import math
from fractions import Fraction

BPS = 10_000


class _LogReturns:
    """Turn mid samples into the log return since the previous sample."""

    def __init__(self) -> None:
        self._time: float | None = None
        self._log_mid = 0.0

    def step(self, now: float, mid: Fraction | float) -> tuple[float, float] | None:
        """Return (previous sample's time, log return since it), None for the first sample."""
        if mid <= 0:
            raise ValueError(f"a mid price must be positive, not {mid} ticks")
        previous = self._time
        if previous is not None and now <= previous:
            return None
        log_mid = math.log(mid)
        change = log_mid - self._log_mid
        self._time, self._log_mid = now, log_mid
        return None if previous is None else (previous, change)


class _Window:
    """Returns in arrival order with their totals, kept as two stacks so nothing is subtracted.

    Totals are summed from the returns present only, so a window that has turned flat reads
    exactly zero however wild the returns that left it were.
    """

    def __init__(self) -> None:
        # Oldest last; each entry holds its start and the totals from it to the newest in front.
        self._front: list[tuple[float, float, float, float]] = []
        # Oldest first: (start, return, interval).
        self._back: list[tuple[float, float, float]] = []
        self._back_totals = (0.0, 0.0, 0.0)

    def __len__(self) -> int:
        """Return how many returns the window holds."""
        return len(self._front) + len(self._back)

    def push(self, start: float, change: float, interval: float) -> None:
        """Add the newest return."""
        self._back.append((start, change, interval))
        total, squares, intervals = self._back_totals
        self._back_totals = (total + change, squares + change * change, intervals + interval)

    def oldest_start(self) -> float | None:
        """Return when the oldest return starts, None when the window is empty."""
        if self._front:
            return self._front[-1][0]
        return self._back[0][0] if self._back else None

    def pop_oldest(self) -> None:
        """Drop the oldest return."""
        if not self._front:
            total = squares = intervals = 0.0
            for start, change, interval in reversed(self._back):
                total, squares = total + change, squares + change * change
                intervals += interval
                self._front.append((start, total, squares, intervals))
            self._back, self._back_totals = [], (0.0, 0.0, 0.0)
        self._front.pop()

    def totals(self) -> tuple[float, float, float]:
        """Return the sums of returns, squared returns and intervals."""
        total, squares, intervals = self._back_totals
        if self._front:
            _, front_total, front_squares, front_intervals = self._front[-1]
            return total + front_total, squares + front_squares, intervals + front_intervals
        return total, squares, intervals


class RollingVolatility:
    """Sample standard deviation of the log returns in the last `window_s` seconds.

    A return counts while the sample it starts from is inside the window; the deviation per
    return is scaled by the mean interval between samples to a per-second figure.
    """

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError(f"the volatility window must be positive, not {window_s} s")
        self.window_s = window_s
        self._returns = _LogReturns()
        self._window = _Window()

    def update(self, now: float, mid: Fraction | float) -> None:
        """Take the mid seen at `now` and forget returns that start before the window."""
        step = self._returns.step(now, mid)
        if step is None:
            return
        start, change = step
        self._window.push(start, change, now - start)
        edge = now - self.window_s
        oldest = self._window.oldest_start()
        while oldest is not None and oldest < edge:
            self._window.pop_oldest()
            oldest = self._window.oldest_start()

    @property
    def bps(self) -> float:
        """Return the volatility, or 0.0 until the window holds two returns."""
        n = len(self._window)
        if n < 2:
            return 0.0
        total, squares, intervals = self._window.totals()
        variance = max(0.0, (squares - total * total / n) / (n - 1))
        return BPS * math.sqrt(variance * n / intervals)


class EwmaVolatility:
    """Exponentially weighted volatility whose weights halve every `halflife_s` seconds.

    Each return contributes its variance per second (return² / interval); the first one seeds
    the average.
    """

    def __init__(self, halflife_s: float) -> None:
        if halflife_s <= 0:
            raise ValueError(f"the volatility half-life must be positive, not {halflife_s} s")
        self.halflife_s = halflife_s
        self._returns = _LogReturns()
        self._variance: float | None = None

    def update(self, now: float, mid: Fraction | float) -> None:
        """Take the mid seen at `now` into the average."""
        step = self._returns.step(now, mid)
        if step is None:
            return
        start, change = step
        interval = now - start
        rate = change * change / interval
        if self._variance is None:
            self._variance = rate
        else:
            keep = 0.5 ** (interval / self.halflife_s)
            self._variance = keep * self._variance + (1 - keep) * rate

    @property
    def bps(self) -> float:
        """Return the volatility, or 0.0 until a return has been seen."""
        return 0.0 if self._variance is None else BPS * math.sqrt(self._variance)
