"""Binance's rate limits: request weight per IP and minute, new orders per account.

Past the weight limit an IP gets 429 with `Retry-After`; an IP that keeps sending after
`bans_after` refusals in one minute is banned (418) for `ban_s`, doubled for each repeat
offence up to three days, as Binance does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from appliance.exchanges.simulator import errors

MINUTE_MS = 60_000
TEN_SECONDS_MS = 10_000
DAY_MS = 86_400_000
MAX_BAN_S = 3 * 86_400


class RateLimits(BaseModel):
    """The limits one run of the simulator enforces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_weight_per_minute: int = Field(default=6000, ge=1)
    orders_per_10s: int = Field(default=100, ge=1)
    orders_per_day: int = Field(default=200_000, ge=1)
    bans_after: int = Field(default=5, ge=0)
    ban_s: int = Field(default=120, ge=1, le=MAX_BAN_S)

    def exchange_info(self) -> list[dict[str, Any]]:
        """Return the limits as `/api/v3/exchangeInfo` lists them."""
        return [
            _limit("REQUEST_WEIGHT", "MINUTE", 1, self.request_weight_per_minute),
            _limit("ORDERS", "SECOND", 10, self.orders_per_10s),
            _limit("ORDERS", "DAY", 1, self.orders_per_day),
        ]


def _limit(kind: str, interval: str, count: int, limit: int) -> dict[str, Any]:
    """Return one rate limiter as Binance describes it."""
    return {"rateLimitType": kind, "interval": interval, "intervalNum": count, "limit": limit}


@dataclass
class Admission:
    """What the weight limiter decided: the weight used this minute, and a refusal if any."""

    used_weight: int
    refusal: errors.BinanceError | None = None
    retry_after_s: int | None = None


@dataclass
class _IpUse:
    """One IP's use of the current minute, its refusals, and its ban."""

    minute: int = -1
    used: int = 0
    refused: int = 0
    offences: int = 0
    banned_until: int = 0


class WeightLimiter:
    """Request weight per IP and minute: the `X-MBX-USED-WEIGHT-1M` count, 429 and 418."""

    def __init__(self, limits: RateLimits, clock: Callable[[], int]) -> None:
        self.limits = limits
        self._clock = clock
        self._ips: dict[str, _IpUse] = {}

    def admit(self, ip: str, weight: int) -> Admission:
        """Count a request's weight for its IP; return whether it may be served."""
        now = self._clock()
        use = self._ips.setdefault(ip, _IpUse())
        minute = now // MINUTE_MS
        if use.minute != minute:
            use.minute, use.used, use.refused = minute, 0, 0
        if use.banned_until > now:
            return Admission(
                use.used, self._banned(use.banned_until), _seconds(use.banned_until - now)
            )
        use.used += weight
        if use.used <= self.limits.request_weight_per_minute:
            return Admission(use.used)
        use.refused += 1
        if use.refused > self.limits.bans_after:
            use.offences += 1
            ban_s = min(self.limits.ban_s * 2 ** (use.offences - 1), MAX_BAN_S)
            use.banned_until = now + ban_s * 1000
            return Admission(use.used, self._banned(use.banned_until), ban_s)
        refusal = errors.BinanceError(
            -1003,
            f"Too much request weight used; current limit is "
            f"{self.limits.request_weight_per_minute} request weight per 1 MINUTE. "
            "Please use WebSocket Streams for live updates to avoid polling the API.",
            429,
        )
        return Admission(use.used, refusal, _seconds((minute + 1) * MINUTE_MS - now))

    def forgive(self) -> None:
        """Forget every IP's use, refusals and bans."""
        self._ips.clear()

    @staticmethod
    def _banned(until_ms: int) -> errors.BinanceError:
        """Return the refusal of a banned IP."""
        return errors.BinanceError(
            -1003,
            f"Way too much request weight used; IP banned until {until_ms}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            418,
        )


class OrderCounter:
    """New orders per account in ten-second and one-day windows: `X-MBX-ORDER-COUNT-*`."""

    def __init__(self, limits: RateLimits, clock: Callable[[], int]) -> None:
        self.limits = limits
        self._clock = clock
        self._counts: dict[tuple[str, str, int], int] = {}

    def count(self, account: str) -> dict[str, str]:
        """Count a new order of an account; return the count headers, or refuse past a limit."""
        now = self._clock()
        headers: dict[str, str] = {}
        for name, window_ms, limit, interval in (
            ("10S", TEN_SECONDS_MS, self.limits.orders_per_10s, "10 SECOND"),
            ("1D", DAY_MS, self.limits.orders_per_day, "1 DAY"),
        ):
            key = (account, name, now // window_ms)
            self._counts[key] = self._counts.get(key, 0) + 1
            if self._counts[key] > limit:
                raise errors.BinanceError(
                    -1015,
                    f"Too many new orders; current limit is {limit} orders per {interval}.",
                    429,
                )
            headers[f"X-MBX-ORDER-COUNT-{name}"] = str(self._counts[key])
        self._forget_before(now)
        return headers

    def _forget_before(self, now: int) -> None:
        """Drop the counts of windows that have ended."""
        ended = [
            key
            for key in self._counts
            if key[2] < now // (TEN_SECONDS_MS if key[1] == "10S" else DAY_MS)
        ]
        for key in ended:
            del self._counts[key]


def _seconds(ms: int) -> int:
    """Return a wait in whole seconds, rounded up."""
    return max(1, math.ceil(ms / 1000))
