"""A symbol's trades summed per minute: klines, rolling 24-hour statistics, average price."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, replace
from fractions import Fraction

from simulator.orders import PublicTrade

MINUTE_MS = 60_000
WEEK_OFFSET_MS = 4 * 86_400_000
"""Binance's weekly klines open on Monday; the epoch was a Thursday, four days before one."""
CANDLE_HISTORY_MINUTES = 31 * 24 * 60
"""Minutes of trading kept; older minutes are forgotten."""

INTERVALS_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
}
"""The kline intervals the simulator serves: every Binance interval of whole minutes."""


@dataclass(frozen=True)
class Candle:
    """Trading in one interval: prices in ticks, volume in lots, quote volume in tick-lots."""

    open_time: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    quote: int
    count: int
    first_id: int
    last_id: int
    taker_buy_volume: int
    taker_buy_quote: int

    def merge(self, later: Candle) -> Candle:
        """Return this candle extended by a later one."""
        return replace(
            self,
            high=max(self.high, later.high),
            low=min(self.low, later.low),
            close=later.close,
            volume=self.volume + later.volume,
            quote=self.quote + later.quote,
            count=self.count + later.count,
            last_id=later.last_id,
            taker_buy_volume=self.taker_buy_volume + later.taker_buy_volume,
            taker_buy_quote=self.taker_buy_quote + later.taker_buy_quote,
        )


def interval_start(time: int, interval_ms: int) -> int:
    """Return when the interval holding `time` opens."""
    offset = WEEK_OFFSET_MS if interval_ms == INTERVALS_MS["1w"] else 0
    return time - (time - offset) % interval_ms


def _minute_of(trade: PublicTrade) -> Candle:
    """Return the candle of a single trade."""
    taker_buys = not trade.is_buyer_maker
    quote = trade.price * trade.lots
    return Candle(
        interval_start(trade.time, MINUTE_MS),
        trade.price,
        trade.price,
        trade.price,
        trade.price,
        trade.lots,
        quote,
        1,
        trade.trade_id,
        trade.trade_id,
        trade.lots if taker_buys else 0,
        quote if taker_buys else 0,
    )


class CandleSeries:
    """One symbol's minute candles, oldest first."""

    def __init__(self, history_minutes: int = CANDLE_HISTORY_MINUTES) -> None:
        self._candles: list[Candle] = []
        self._times: list[int] = []
        self._history = history_minutes

    def record(self, trade: PublicTrade) -> None:
        """Add a trade to the candle of its minute."""
        candle = _minute_of(trade)
        if self._candles and self._times[-1] == candle.open_time:
            self._candles[-1] = self._candles[-1].merge(candle)
            return
        self._candles.append(candle)
        self._times.append(candle.open_time)
        if len(self._candles) > 2 * self._history:
            del self._candles[: self._history]
            del self._times[: self._history]

    def summary(self, start: int, end: int) -> Candle | None:
        """Return the trading of the minutes opening in [start, end], or None without trades."""
        first = bisect_left(self._times, start)
        last = bisect_left(self._times, end + 1)
        if first == last:
            return None
        merged = self._candles[first]
        for candle in self._candles[first + 1 : last]:
            merged = merged.merge(candle)
        return merged

    def close_before(self, time: int) -> int | None:
        """Return the last price of the minutes opening before `time`, or None."""
        index = bisect_left(self._times, time)
        return self._candles[index - 1].close if index else None

    def average_price(self, now: int, minutes: int) -> Fraction | None:
        """Return the volume-weighted price of the last minutes, else the last price, in ticks."""
        if not self._candles:
            return None
        recent = self.summary(interval_start(now, MINUTE_MS) - (minutes - 1) * MINUTE_MS, now)
        if recent is None:
            return Fraction(self._candles[-1].close)
        return Fraction(recent.quote, recent.volume)

    def klines(
        self, interval_ms: int, start: int | None, end: int | None, limit: int, now: int
    ) -> list[Candle]:
        """Return klines as Binance chooses them: from `start`, up to `end`, or the latest."""
        if not self._candles:
            return []
        first_open = interval_start(self._times[0], interval_ms)
        last_open = interval_start(now if end is None else min(end, now), interval_ms)
        if start is not None:
            aligned = interval_start(start, interval_ms)
            begin = max(first_open, aligned if aligned == start else aligned + interval_ms)
        else:
            begin = max(first_open, last_open - (limit - 1) * interval_ms)
        opens = range(begin, last_open + 1, interval_ms)
        chosen = opens[:limit] if start is not None else opens[-limit:]
        return self._fill(chosen, interval_ms)

    def _fill(self, opens: range, interval_ms: int) -> list[Candle]:
        """Return one candle per interval, a quiet one where nothing traded."""
        klines: list[Candle] = []
        previous_close = self.close_before(opens[0]) if opens else None
        for open_time in opens:
            traded = self.summary(open_time, open_time + interval_ms - 1)
            if traded is not None:
                klines.append(replace(traded, open_time=open_time))
                previous_close = traded.close
            elif previous_close is not None:
                klines.append(_flat(open_time, previous_close))
        return klines


def _flat(open_time: int, price: int) -> Candle:
    """Return an interval without trades at a price."""
    return Candle(open_time, price, price, price, price, 0, 0, 0, -1, -1, 0, 0)
