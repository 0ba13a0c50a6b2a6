"""Klines, 24-hour statistics and the average price, from trades at known times."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from simulator.candles import INTERVALS_MS, MINUTE_MS
from simulator.errors import BinanceError
from simulator.exchange import SpotExchange
from simulator.listing import parse_market
from simulator.market_views import day_statistics, day_ticker, kline
from simulator.orders import OrderRequest, OrderType, Side, TimeInForce

MTS = parse_market("MTSUSDT=1.25").instrument
START = 1_700_000_040_000
"""A time on a minute boundary."""


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        """Return the time now."""
        return self.now


def traded(clock: Clock, trades: list[tuple[int, str, str]]) -> SpotExchange:
    """Return an exchange where (ms after START, price, quantity) trades printed, buyer taking."""
    exchange = SpotExchange([MTS], clock=clock)
    exchange.open_account("maker", {"MTS": 10_000 * 10**8})
    exchange.open_account("taker", {"USDT": 10_000 * 10**8})
    for index, (offset, price, quantity) in enumerate(trades):
        clock.now = START + offset
        ticks = int(Decimal(price) / MTS.tick_size)
        lots = int(Decimal(quantity) / MTS.step_size)
        for account, side in (("maker", Side.SELL), ("taker", Side.BUY)):
            exchange.place(
                OrderRequest(
                    account,
                    MTS.symbol,
                    side,
                    OrderType.LIMIT,
                    TimeInForce.GTC,
                    ticks,
                    lots,
                    0,
                    f"{account}-{index}",
                )
            )
    return exchange


TRADES = [
    (0, "1.20", "10"),
    (20_000, "1.30", "5"),
    (50_000, "1.25", "1"),
    (2 * MINUTE_MS + 1_000, "1.10", "2"),
]


def test_one_minute_klines_sum_trades_and_fill_quiet_minutes_flat() -> None:
    clock = Clock()
    exchange = traded(clock, TRADES)
    candles = exchange.candles(MTS.symbol).klines(MINUTE_MS, None, None, 500, clock.now)
    shown = [kline(candle, MINUTE_MS, MTS) for candle in candles]
    assert [row[0] for row in shown] == [START, START + MINUTE_MS, START + 2 * MINUTE_MS]
    assert shown[0][1:6] == ["1.20000000", "1.30000000", "1.20000000", "1.25000000", "16.00000000"]
    assert shown[0][6] == START + MINUTE_MS - 1 and shown[0][8] == 3
    assert shown[0][7] == "19.75000000" and shown[0][9] == "16.00000000"
    assert shown[1][1:6] == ["1.25000000"] * 4 + ["0.00000000"] and shown[1][8] == 0
    assert shown[2][1:6] == ["1.10000000"] * 4 + ["2.00000000"]


def test_klines_follow_start_end_and_limit() -> None:
    clock = Clock()
    candles = traded(clock, TRADES).candles(MTS.symbol)
    latest = candles.klines(MINUTE_MS, None, None, 2, clock.now)
    assert [c.open_time for c in latest] == [START + MINUTE_MS, START + 2 * MINUTE_MS]
    from_start = candles.klines(MINUTE_MS, START + 1, None, 5, clock.now)
    assert [c.open_time for c in from_start] == [START + MINUTE_MS, START + 2 * MINUTE_MS]
    until_end = candles.klines(MINUTE_MS, None, START + MINUTE_MS, 5, clock.now)
    assert [c.open_time for c in until_end] == [START, START + MINUTE_MS]
    five = candles.klines(INTERVALS_MS["5m"], None, None, 5, clock.now)
    assert sum(c.count for c in five) == 4 and all(c.open_time % (5 * MINUTE_MS) == 0 for c in five)


def test_day_ticker_covers_the_last_24_hours() -> None:
    clock = Clock()
    exchange = traded(clock, TRADES)
    ticker = day_ticker(day_statistics(exchange, MTS.symbol), exchange.book(MTS.symbol), MTS)
    assert (ticker["openPrice"], ticker["highPrice"], ticker["lowPrice"]) == (
        "1.20000000",
        "1.30000000",
        "1.10000000",
    )
    assert (ticker["lastPrice"], ticker["lastQty"], ticker["volume"]) == (
        "1.10000000",
        "2.00000000",
        "18.00000000",
    )
    assert (ticker["priceChange"], ticker["priceChangePercent"]) == ("-0.10000000", "-8.333")
    assert (ticker["firstId"], ticker["lastId"], ticker["count"]) == (1, 4, 4)
    clock.now += 2 * 86_400_000
    quiet = day_ticker(day_statistics(exchange, MTS.symbol), exchange.book(MTS.symbol), MTS)
    assert (quiet["count"], quiet["firstId"], quiet["volume"]) == (0, -1, "0.00000000")
    assert quiet["openPrice"] == quiet["lastPrice"] == quiet["prevClosePrice"] == "1.10000000"


def test_average_price_weighs_the_last_minutes_by_volume() -> None:
    clock = Clock()
    exchange = traded(clock, TRADES)
    expected = Fraction(12000 * 100 + 13000 * 50 + 12500 * 10 + 11000 * 20, 180)
    assert exchange.average_price(MTS.symbol, 5) == expected
    clock.now += 30 * MINUTE_MS
    assert exchange.average_price(MTS.symbol, 5) == 11000


@pytest.mark.parametrize(
    ("is_buy", "price", "passes"),
    [
        (True, "6.25", True),
        (True, "6.2501", False),
        (True, "0.25", True),
        (True, "0.2499", False),
        (False, "0.2499", False),
        (False, "6.2501", False),
    ],
)
def test_percent_price_by_side_bounds_limit_prices(is_buy: bool, price: str, passes: bool) -> None:
    ticks = int(Decimal(price) / MTS.tick_size)
    average = Fraction(12500)
    if passes:
        MTS.check_percent_price(is_buy, ticks, average)
    else:
        with pytest.raises(BinanceError, match="PERCENT_PRICE_BY_SIDE"):
            MTS.check_percent_price(is_buy, ticks, average)
    MTS.check_percent_price(is_buy, ticks, None)
