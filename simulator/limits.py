"""Binance's rate limits: request weight per IP and interval, new orders per account.

Request weight is counted in windows of `request_weight_interval` (a minute, as Binance
does, unless set shorter) aligned to the clock. Past the weight limit an IP gets 429 with
`Retry-After`; an IP that keeps sending after `bans_after` refusals in one window is banned
(418) for `ban_s`, doubled for each repeat offence up to three days, as Binance does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator import errors
from simulator.const import SAPI_IP_WEIGHT_PER_MINUTE

MINUTE_MS = 60_000
TEN_SECONDS_MS = 10_000
DAY_MS = 86_400_000
MAX_BAN_S = 3 * 86_400
INTERVAL_UNITS = {"S": ("SECOND", 1000), "M": ("MINUTE", MINUTE_MS)}
"""The units a request-weight interval may count: Binance's letter, name, and length in ms."""
INTERVAL = re.compile(r"([1-9][0-9]*)([SM])")


class RateLimits(BaseModel):
    """The limits one run of the simulator enforces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_weight_per_minute: int = Field(default=6000, ge=1)
    """The weight an IP may use per `request_weight_interval` (a minute unless set shorter)."""
    request_weight_interval: str = "1M"
    """The window request weight is counted in, as Binance spells it: `1M`, `10S`."""
    orders_per_10s: int = Field(default=100, ge=1)
    orders_per_day: int = Field(default=200_000, ge=1)
    bans_after: int = Field(default=5, ge=0)
    ban_s: int = Field(default=120, ge=1, le=MAX_BAN_S)

    @field_validator("request_weight_interval")
    @classmethod
    def _binance_interval(cls, interval: str) -> str:
        """Accept only a count of seconds or minutes spelled as Binance does."""
        if INTERVAL.fullmatch(interval) is None:
            raise ValueError(
                f"'{interval}' is not an interval such as 10S or 1M (a count, then S or M)"
            )
        return interval

    @property
    def weight_window_ms(self) -> int:
        """Return the length of one request-weight window."""
        count, _, unit_ms = self._weight_interval()
        return count * unit_ms

    @property
    def weight_interval_words(self) -> str:
        """Return the window as Binance's messages say it: `1 MINUTE`, `10 SECOND`."""
        count, unit, _ = self._weight_interval()
        return f"{count} {unit}"

    def for_sapi(self) -> RateLimits:
        """Return the limits of each `/sapi/` endpoint: its own weight a minute, bans alike."""
        return self.model_copy(
            update={
                "request_weight_per_minute": SAPI_IP_WEIGHT_PER_MINUTE,
                "request_weight_interval": "1M",
            }
        )

    def exchange_info(self) -> list[dict[str, Any]]:
        """Return the limits as `/api/v3/exchangeInfo` lists them."""
        count, unit, _ = self._weight_interval()
        return [
            _limit("REQUEST_WEIGHT", unit, count, self.request_weight_per_minute),
            _limit("ORDERS", "SECOND", 10, self.orders_per_10s),
            _limit("ORDERS", "DAY", 1, self.orders_per_day),
        ]

    def _weight_interval(self) -> tuple[int, str, int]:
        """Return the request-weight interval's count, its unit's name and length in ms."""
        unit, unit_ms = INTERVAL_UNITS[self.request_weight_interval[-1]]
        return int(self.request_weight_interval[:-1]), unit, unit_ms


def _limit(kind: str, interval: str, count: int, limit: int) -> dict[str, Any]:
    """Return one rate limiter as Binance describes it."""
    return {"rateLimitType": kind, "interval": interval, "intervalNum": count, "limit": limit}


@dataclass
class Admission:
    """What the weight limiter decided: the weight used this window, and a refusal if any."""

    used_weight: int
    refusal: errors.BinanceError | None = None
    retry_after_s: int | None = None


@dataclass
class _IpUse:
    """One IP's use of the current window, its refusals, and its ban."""

    window: int = -1
    used: int = 0
    refused: int = 0
    offences: int = 0
    banned_until: int = 0


class WeightLimiter:
    """Request weight per IP and window: the `X-MBX-USED-WEIGHT-<interval>` count, 429, 418."""

    def __init__(self, limits: RateLimits, clock: Callable[[], int]) -> None:
        self.limits = limits
        self._clock = clock
        self._ips: dict[str, _IpUse] = {}

    def admit(self, ip: str, weight: int) -> Admission:
        """Count a request's weight for its IP; return whether it may be served."""
        now = self._clock()
        use = self._ips.setdefault(ip, _IpUse())
        window_ms = self.limits.weight_window_ms
        window = now // window_ms
        if use.window != window:
            use.window, use.used, use.refused = window, 0, 0
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
            f"{self.limits.request_weight_per_minute} request weight per "
            f"{self.limits.weight_interval_words}. "
            "Please use WebSocket Streams for live updates to avoid polling the API.",
            429,
        )
        return Admission(use.used, refusal, _seconds((window + 1) * window_ms - now))

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
