"""Keep a client's REST requests within the exchange's request-weight limits, from its headers.

Binance counts every REST request's weight per IP in windows aligned to the clock, says in
each answer how much is used (`X-MBX-USED-WEIGHT-1M`), answers 429 with `Retry-After` past
the limit and bans an IP that keeps sending (418). Both bots of the box share its IP, so each
sees the other's weight in those headers. The governor counts a request when it is sent, so
requests in flight count before their answers come; takes the exchange's count when that is
larger; holds ordinary requests at a share of the limit and lets cancels go a little further,
so the box can always pull its quotes; and holds everything while a Retry-After runs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from appliance.exchanges.capabilities import capabilities_of

log = logging.getLogger(__name__)

ORDINARY_SHARE = 0.80
"""Ordinary requests stop at this share of a window's weight limit."""
CANCEL_SHARE = 0.95
"""Cancels (DELETE) may use up to this share, so the box can always pull its quotes."""
ROLLOVER_MARGIN_S = 0.25
"""A request held for the next window waits this much past its start: clocks differ a little."""
WEIGHT_PER_COST = 5
"""Exchange weight per unit of ccxt's request cost.

ccxt prices Binance spot requests at 0.2 a unit of weight (`depth` 1 for weight 5, `order`
0.2 for weight 1): its `rateLimit` of 50 ms a unit spreads Binance's 6000 weight over a minute.
"""
REFUSALS = frozenset({418, 429})
"""Statuses by which the exchange refuses for rate limits; both carry `Retry-After`."""
EXCHANGE_INFO = "exchangeInfo"
CANCEL_METHOD = "DELETE"
INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
"""Binance's rate-limit interval names, in seconds."""
HEADER_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
BINANCE_WEIGHT_HEADER = capabilities_of("binance").weight_header
"""The prefix of Binance's used-weight headers, the ones the governor was made for."""


def used_weights(headers: Mapping[str, str],
                 prefix: str | None = BINANCE_WEIGHT_HEADER) -> dict[int, int]:
    """Return the used weight each `<prefix><n><s|m|h|d>` header tells, by window.

    `prefix` is the exchange's capability `weight_header` (Binance's `X-MBX-USED-WEIGHT-`);
    None, for an exchange that tells no weight, finds none.
    """
    if prefix is None:
        return {}
    used: dict[int, int] = {}
    for name, value in headers.items():
        match = _weight_pattern(prefix).fullmatch(name)
        if match is not None and value.strip().isdigit():
            used[int(match[1]) * HEADER_UNITS[match[2].lower()]] = int(value)
    return used


@functools.cache
def _weight_pattern(prefix: str) -> re.Pattern[str]:
    """Return the pattern of the used-weight headers whose names start with `prefix`."""
    return re.compile(re.escape(prefix) + "([1-9][0-9]*)([smhd])", re.IGNORECASE)


def weight_limits(rate_limits: Iterable[Any]) -> dict[int, int]:
    """Return the REQUEST_WEIGHT limits of exchangeInfo's `rateLimits`, by window in seconds."""
    limits: dict[int, int] = {}
    for entry in rate_limits:
        if not isinstance(entry, Mapping) or entry.get("rateLimitType") != "REQUEST_WEIGHT":
            continue
        unit, count, limit = entry.get("interval"), entry.get("intervalNum"), entry.get("limit")
        if unit in INTERVAL_SECONDS and _positive(count) and _positive(limit):
            seconds = count * INTERVAL_SECONDS[unit]
            limits[seconds] = min(limit, limits.get(seconds, limit))
    return limits


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Return the seconds a `Retry-After` header asks to wait, if it gives a number."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                wait = float(value)
            except ValueError:
                return None
            return wait if math.isfinite(wait) and wait >= 0 else None
    return None


def request_weight(cost: float) -> int:
    """Return the weight a request of ccxt `cost` is counted as before the exchange says."""
    return max(1, round(cost * WEIGHT_PER_COST))


def _positive(value: Any) -> TypeGuard[int]:
    """Tell whether a rateLimits field is a positive whole number."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class Hold:
    """Why a request must wait, and until when (on the clock `now` was read from)."""

    until: float
    reason: str


@dataclass
class _Window:
    """One request-weight window: its length, its limit once known, and its use so far."""

    seconds: int
    limit: int | None = None
    index: int = -1
    used: int = 0

    def roll(self, now: float) -> None:
        """Count afresh once the clock is in a later window than the one counted."""
        index = math.floor(now / self.seconds)
        if index > self.index:
            self.index, self.used = index, 0

    def holds(self, weight: int, share: float, now: float) -> bool:
        """Tell whether `weight` more would take this window past `share` of its limit."""
        self.roll(now)
        return self.limit is not None and self.used > 0 and self.used + weight > share * self.limit

    def ends(self) -> float:
        """Return when the window counted ends."""
        return float((self.index + 1) * self.seconds)


class WeightGovernor:
    """Decide when a client may send a request, from its own count and the exchange's."""

    def __init__(self, weight_header: str | None = BINANCE_WEIGHT_HEADER) -> None:
        self._weight_header = weight_header
        self._windows: dict[int, _Window] = {}
        self._blocked_until = 0.0

    @property
    def limits(self) -> dict[int, int]:
        """Return the weight limits known, by window length in seconds."""
        return {s: w.limit for s, w in self._windows.items() if w.limit is not None}

    def learn(self, rate_limits: Iterable[Any]) -> None:
        """Take the REQUEST_WEIGHT limits of exchangeInfo's `rateLimits`; the lowest stays."""
        for seconds, limit in weight_limits(rate_limits).items():
            window = self._window(seconds)
            window.limit = limit if window.limit is None else min(window.limit, limit)

    def count(self, weight: int, now: float) -> None:
        """Count a request's weight in every window the moment it is sent."""
        for window in self._windows.values():
            window.roll(now)
            window.used += weight

    def observe(self, status: int, headers: Mapping[str, str], sent_at: float, now: float) -> None:
        """Take the exchange's count from an answer, and a refusal's Retry-After.

        A count is taken only for the window its request was sent in, and only when it is
        larger than the one kept: other requests of the same IP add to it, not ours alone.
        """
        for seconds, used in used_weights(headers, self._weight_header).items():
            window = self._window(seconds)
            window.roll(now)
            if math.floor(sent_at / seconds) == window.index:
                window.used = max(window.used, used)
        wait = retry_after_s(headers) if status in REFUSALS else None
        if wait is not None:
            self._blocked_until = max(self._blocked_until, now + wait)

    def hold(self, weight: int, cancel: bool, now: float) -> Hold | None:
        """Return until when a request of `weight` must wait, or None if it may go now."""
        if now < self._blocked_until:
            return Hold(self._blocked_until, "the exchange refused for rate limits (Retry-After)")
        share = CANCEL_SHARE if cancel else ORDINARY_SHARE
        full = [w for w in self._windows.values() if w.holds(weight, share, now)]
        if not full:
            return None
        window = max(full, key=_Window.ends)
        return Hold(
            window.ends() + ROLLOVER_MARGIN_S,
            f"{window.used} of {window.limit} request weight used in this {window.seconds} s "
            f"window; {'cancels' if cancel else 'requests'} stop at {share:.0%}",
        )

    def _window(self, seconds: int) -> _Window:
        """Return the window of `seconds`, counting from nothing if it is new."""
        return self._windows.setdefault(seconds, _Window(seconds))


@dataclass
class _Request:
    """The REST request a client is sending: what the governor needs of it."""

    method: str
    path: str
    weight: int
    sent_at: float | None = None


_request: ContextVar[_Request | None] = ContextVar("weighed_request", default=None)


class WeightMixin:
    """Put before a ccxt exchange class: its REST requests keep within the weight limits.

    The wait happens inside ccxt's `throttle`, after ccxt's own pacing and before the request
    is signed, so a held request is counted when it really leaves and its timestamp is fresh;
    the client must keep `enableRateLimit` (ccxt's default), or ccxt never calls `throttle`.
    """

    id: str
    weight_governor: WeightGovernor
    calculate_rate_limiter_cost: Callable[..., Any]

    def __init__(self, config: Any = None) -> None:
        """Build the client with a governor that knows no limit yet and the table's headers."""
        super().__init__({} if config is None else config)  # type: ignore[call-arg]
        self.weight_governor = WeightGovernor(capabilities_of(self.id).weight_header)
        self._announced_until = 0.0

    async def fetch2(self, path: Any, api: Any = "public", method: str = "GET",
                     params: Any = None, config: Any = None) -> Any:
        """Weigh the request for the governor; learn the limits from exchangeInfo."""
        params, config = ({} if params is None else params), ({} if config is None else config)
        cost = self.calculate_rate_limiter_cost(api, method, path, params, config)
        token = _request.set(_Request(method, str(path), request_weight(float(cost))))
        try:
            response = await super().fetch2(path, api, method, params, config)  # type: ignore[misc]
        finally:
            _request.reset(token)
        if path == EXCHANGE_INFO and isinstance(response, dict) and "rateLimits" in response:
            self.weight_governor.learn(response["rateLimits"])
        return response

    async def throttle(self, cost: Any = None) -> Any:
        """After ccxt's pacing, wait as long as the governor says, then count the request."""
        paced = await super().throttle(cost)  # type: ignore[misc]
        request = _request.get()
        if request is not None:
            await self._held_back(request)
            request.sent_at = time.time()
            self.weight_governor.count(request.weight, request.sent_at)
        return paced

    def on_rest_response(self, code: Any, reason: Any, url: str, method: str,
                         response_headers: Any, *rest: Any) -> Any:
        """Take the weight the exchange says is used, and a refusal's Retry-After."""
        now = time.time()
        request = _request.get()
        sent_at = now if request is None or request.sent_at is None else request.sent_at
        status, headers = int(code or 0), dict(response_headers or {})
        self.weight_governor.observe(status, headers, sent_at, now)
        if status in REFUSALS:
            wait = retry_after_s(headers)
            log.warning("%s %s refused with %d for rate limits; Retry-After: %s", method,
                        urlsplit(url).path, status, "none" if wait is None else f"{wait:g} s")
        return super().on_rest_response(  # type: ignore[misc]
            code, reason, url, method, response_headers, *rest)

    async def _held_back(self, request: _Request) -> None:
        """Sleep until the governor lets the request go; say why once for each hold."""
        cancel = request.method.upper() == CANCEL_METHOD
        while (hold := self.weight_governor.hold(request.weight, cancel, time.time())) is not None:
            wait = max(0.0, hold.until - time.time())
            if hold.until != self._announced_until:
                self._announced_until = hold.until
                log.warning("holding %s %s (weight %d) and later requests back %.2f s: %s",
                            request.method, request.path, request.weight, wait, hold.reason)
            await asyncio.sleep(wait)
