"""A bot's performance series: read from its log as it grows, equal to its ledger, cut into
buckets (a level's last value, a flow's sum), over the range asked; its page and REST route.

Every log is written by the bot's own EventLog; where times matter, its clock is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.ledger import positions_from_events
from appliance.risk.const import SymbolState
from appliance.store import events
from appliance.store.database import open_writer
from appliance.store.events import (
    EventBody,
    EventLog,
    OrderCancelled,
    SymbolStateChanged,
    open_events,
    read_events,
)
from appliance.vocabulary import Side
from tests.ui.panel_box import ack, fill, order, quotes
from ui.performance import MAX_POINTS, BotHistory, PerformanceReader, Span, pair_series
from ui.snapshot import BoxReader

T0 = 1_700_000_000.0
"""A time on a sample slot's edge, where the tests' logs start."""

S = "MTS/USDT"


@dataclass
class Clock:
    """The bot's clock, set by the test."""

    now: float = T0

    def time(self) -> float:
        """Return the time the test set."""
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Stamp the events the test writes with the clock's time."""
    set_clock = Clock()
    monkeypatch.setattr(events, "time", set_clock)
    return set_clock


def write(path: Path, clock: Clock, timed: list[tuple[float, EventBody]],
          symbol: str = S) -> None:
    """Append events to a log, each at its time."""
    log = EventLog(path)
    for at, body in timed:
        clock.now = at
        log.append(symbol, body)
    log.close()


def trade_minute(log: EventLog, clock: Clock, symbol: str, since: float, minute: int) -> None:
    """Append minute `minute` after `since` of a bot's quoting: six quote sets, two orders
    sent and acked, one filled and the other cancelled."""
    start = since + minute * 60
    mid = Decimal(1) + Decimal(minute % 200 - 100) / 10_000
    bid, ask = mid - Decimal("0.001"), mid + Decimal("0.001")
    size = "20"
    buy, sell = f"b{minute}", f"s{minute}"
    filled, left = (buy, sell) if minute % 2 else (sell, buy)
    for second in range(0, 60, 10):
        clock.now = start + second
        log.append(symbol, quotes(str(mid), (str(bid), size), (str(ask), size)))
        if second == 0:
            for cid, side, price in ((buy, Side.BUY, bid), (sell, Side.SELL, ask)):
                log.append(symbol, order(cid, side, str(price), size))
                log.append(symbol, ack(cid))
        if second == 30:
            side, price = (Side.BUY, bid) if filled == buy else (Side.SELL, ask)
            quote = symbol.split("/")[1]
            log.append(symbol, fill(filled, f"t{minute}", side, str(price), size,
                                    "0.002", quote, symbol=symbol))
            log.append(symbol, OrderCancelled(left, f"o-{left}", "replaced"))


def test_the_charts_end_at_the_ledgers_figures_and_follow_it_as_the_log_grows(
    datadir: DataDir
) -> None:
    reader = PerformanceReader(datadir)
    for more in ((), (fill("c4", "t3", Side.BUY, "0.985", "20", "0.02", "USDT"),
                      quotes("0.97"))):
        if more:
            log = EventLog(datadir.events_db("bot-1"))
            for body in more:
                log.append(S, body)
            log.close()
        (pair,) = reader.performance("bot-1", Span.ALL).pairs
        db = open_events(datadir.events_db("bot-1"))
        position = positions_from_events(read_events(db))[S]
        db.close()
        (shown,) = BoxReader(datadir).snapshot().bots[0].positions

        assert pair.realized[-1] == float(position.realized)
        assert pair.inventory[-1] == float(position.base)
        assert pair.unrealized[-1] == float(shown.unrealized or 0)
        assert sum(pair.volume) == pytest.approx(float(position.volume), rel=1e-12)
        assert sum(pair.fees) == pytest.approx(float(position.fees), rel=1e-12)
        assert sum(pair.fills) == position.fills == shown.fills
        totals = pair.totals
        assert (totals.realized, totals.unrealized, totals.fees, totals.volume, totals.fills,
                totals.inventory) == (shown.realized, shown.unrealized, shown.fees,
                                      shown.volume, shown.fills, shown.base)


def test_a_refresh_reads_only_the_rows_after_the_last_one_read(datadir: DataDir) -> None:
    history = BotHistory(datadir.events_db("bot-1"))
    history.catch_up()
    writer = open_writer(datadir.events_db("bot-1"))
    writer.execute("UPDATE events SET data = 'not json' WHERE seq = 1")
    writer.close()
    log = EventLog(datadir.events_db("bot-1"))
    log.append(S, fill("c4", "t3", Side.BUY, "0.985", "20", "0.02", "USDT"))
    log.close()

    history.catch_up()  # row 1 is not read again, or it would not decode

    assert history.pairs[S].totals().fills == 3


def test_the_spread_captured_and_the_order_to_trade_ratio_come_from_the_fills_and_orders(
    datadir: DataDir
) -> None:
    (pair,) = PerformanceReader(datadir).performance("bot-1", Span.ALL).pairs

    # bought 100 at 0.99 and sold 40 at 1.01 with the mid at 1.00: 1.00 + 0.40
    assert pair.totals.spread_captured == Decimal("1.40")
    assert sum(pair.spread_captured) == pytest.approx(1.4)
    assert (sum(pair.orders), sum(pair.fills), pair.totals.orders) == (4, 2, 4)
    assert [r for r in pair.order_to_trade if r is not None] == [2.0]
    assert [(f.side, f.price, f.amount) for f in pair.fill_points] == [
        (Side.BUY, 0.99, 100.0), (Side.SELL, 1.01, 40.0)]


def trading(clock: Clock, path: Path) -> None:
    """Write a pair's 40 seconds: a buy filled in the first 20 s, a sell in two fills after."""
    write(path, clock, [
        (T0 + 1, SymbolStateChanged(SymbolState.ACTIVE, "operator")),
        (T0 + 2, quotes("1.00")),
        (T0 + 3, order("b1", Side.BUY, "0.99", "10")), (T0 + 3, ack("b1")),
        (T0 + 12, fill("b1", "t1", Side.BUY, "0.99", "10", "0.01", "USDT")),
        (T0 + 14, quotes("1.05")),
        (T0 + 25, order("s1", Side.SELL, "1.06", "10")), (T0 + 25, ack("s1")),
        (T0 + 33, fill("s1", "t2", Side.SELL, "1.06", "4", "0.004", "USDT")),
        (T0 + 37, fill("s1", "t3", Side.SELL, "1.06", "6", "0.006", "USDT")),
        (T0 + 38, quotes("1.10")),
    ])


def test_a_bucket_holds_a_levels_last_value_and_a_flows_sum(
    clock: Clock, tmp_path: Path
) -> None:
    trading(clock, tmp_path / "events.db")
    history = BotHistory(tmp_path / "events.db")
    history.catch_up()
    pair = history.pairs[S]

    halves = pair_series(pair, T0, T0 + 40, 2)
    quarters = pair_series(pair, T0, T0 + 40, 4)

    assert halves.times == [T0 + 20, T0 + 40]
    assert halves.mid == [1.05, 1.10]
    assert halves.inventory == [10.0, 0.0]
    assert halves.volume == pytest.approx([9.9, 10.6])
    assert halves.fees == pytest.approx([0.01, 0.01])
    assert (halves.fills, halves.orders) == ([1, 2], [1, 1])
    assert halves.realized == [0.0, pytest.approx(0.7)]
    assert quarters.mid == [1.00, 1.05, 1.05, 1.10]
    assert quarters.volume == pytest.approx([0, 9.9, 0, 10.6])
    assert quarters.fills == [0, 1, 0, 2]
    # orders per fill from the range's start: each order falls a bucket before its fills
    assert halves.order_to_trade == [1.0, pytest.approx(2 / 3)]
    assert quarters.order_to_trade == [None, 1.0, 2.0, pytest.approx(2 / 3)]


def test_two_sided_presence_is_the_share_of_active_time_with_a_bid_and_an_ask_resting(
    clock: Clock, tmp_path: Path
) -> None:
    write(tmp_path / "events.db", clock, [
        (T0, SymbolStateChanged(SymbolState.ACTIVE, "operator")), (T0, quotes("1.00")),
        (T0, order("b", Side.BUY, "0.99", "10")), (T0, ack("b")),
        (T0 + 50, order("a", Side.SELL, "1.01", "10")),  # not resting until acked
        (T0 + 60, ack("a")),
        (T0 + 90, OrderCancelled("b", "o-b", "replaced")),
        (T0 + 120, SymbolStateChanged(SymbolState.PAUSED, "operator")),  # paused time not counted
        (T0 + 200, quotes("1.00")),
    ])
    history = BotHistory(tmp_path / "events.db")
    history.catch_up()

    whole = pair_series(history.pairs[S], T0, T0 + 200, 1)
    halves = pair_series(history.pairs[S], T0, T0 + 200, 2)

    assert whole.presence == pytest.approx(30 / 120)
    assert halves.two_sided == [pytest.approx(30 / 100), 0.0]
    assert pair_series(history.pairs[S], T0 + 130, T0 + 200, 1).two_sided == [None]


def test_a_range_holds_only_its_time_in_at_most_max_points_buckets(
    clock: Clock, datadir: DataDir
) -> None:
    now = T0 + 30 * 86_400
    timed: list[tuple[float, EventBody]] = [
        (T0, SymbolStateChanged(SymbolState.ACTIVE, "operator")), (T0, quotes("1.00"))]
    for n, ago in enumerate((2 * 86_400, 2 * 3600, 600)):
        cid = f"c{n}"
        timed += [(now - ago, order(cid, Side.BUY, "0.99", "1")), (now - ago, ack(cid)),
                  (now - ago, fill(cid, f"t{n}", Side.BUY, "0.99", "1", "0", "USDT"))]
    write(datadir.events_db("bot-2"), clock, timed)
    reader = PerformanceReader(datadir)

    found = {span: reader.performance("bot-2", span, now=now) for span in Span}

    assert {span: sum(found[span].pairs[0].fills) for span in Span} == {
        Span.HOUR: 1, Span.DAY: 2, Span.WEEK: 3, Span.ALL: 3}
    assert {span: found[span].pairs[0].fills_in_range for span in Span} == {
        Span.HOUR: 1, Span.DAY: 2, Span.WEEK: 3, Span.ALL: 3}
    hour = found[Span.HOUR]
    assert (hour.start, hour.end, len(hour.pairs[0].times)) == (now - 3600, now, 360)
    assert all(len(found[span].pairs[0].times) == MAX_POINTS
               for span in (Span.DAY, Span.WEEK, Span.ALL))
    assert found[Span.ALL].start < T0
    assert found[Span.ALL].pairs[0].mid[0] == 1.00  # the first bucket holds the first quote


async def test_the_rest_api_answers_a_bots_series_and_refuses_a_bad_range_or_bot(
    user: User
) -> None:
    answer = await user.http_client.get("/api/bots/bot-1/performance?range=all")
    default = await user.http_client.get("/api/bots/bot-1/performance")
    bad = await user.http_client.get("/api/bots/bot-1/performance?range=1y")
    unknown = await user.http_client.get("/api/bots/bot-9/performance")

    assert answer.status_code == 200
    body = answer.json()
    (pair,) = body["pairs"]
    assert (body["bot"], body["range"], pair["symbol"]) == ("bot-1", "all", S)
    assert Decimal(pair["totals"]["realized"]) == Decimal("0.8")
    assert sum(pair["fills"]) == 2
    assert default.json()["range"] == "24h"
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_range")
    assert "1h, 24h, 7d, all" in bad.json()["error"]["message"]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_bot")


async def test_the_page_draws_each_figure_of_each_pair_and_switches_range(user: User) -> None:
    await user.open("/performance")

    await user.should_see("MTS/USDT")
    await user.should_see(marker="summary-MTS/USDT", content="2 fills")
    for figure in ("price", "equity", "pnl", "inventory", "spread", "volume", "fills", "fees",
                   "order_to_trade", "two_sided"):
        (chart,) = user.find(kind=ui.echart, marker=f"chart-MTS/USDT-{figure}").elements
        assert chart.options["series"]
    (price,) = user.find(kind=ui.echart, marker="chart-MTS/USDT-price").elements
    assert [len(s["data"]) for s in price.options["series"][1:]] == [1, 1]  # a buy, a sell
    (span,) = user.find(kind=ui.toggle, marker="range").elements
    span.set_value("1h")
    await user.should_see(marker="summary-MTS/USDT", content="2 fills · 2 in range")
