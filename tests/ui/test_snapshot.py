"""The panel's reader: what it shows of each bot equals the ledger worked out by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from appliance.datadir import DataDir
from appliance.ledger import open_orders_from_events, positions_from_events
from appliance.risk.const import SymbolState, TripKind
from appliance.store.chain import Breach
from appliance.store.database import StoreUnavailable, open_writer
from appliance.store.events import (
    BotStateChanged,
    BotStatus,
    EventBody,
    EventKind,
    EventLog,
    SymbolStateChanged,
    open_events,
    read_events,
)
from appliance.store.verify import Verdict
from appliance.vocabulary import Side
from tests.ui.panel_box import fill, order, quotes, risk_trip, write_bot_2_events
from ui.const import LogState
from ui.snapshot import BotSnapshot, BoxReader, OrderView, PairView, PositionView


def bot(reader: BoxReader, name: str) -> BotSnapshot:
    """Return one bot of a fresh snapshot."""
    return next(b for b in reader.snapshot().bots if b.name == name)


def test_bot_1_ledger_matches_the_hand_computation(datadir: DataDir) -> None:
    bot_1 = bot(BoxReader(datadir), "bot-1")

    # Bought 100 at 0.99 paying 0.1 MTS (sold at 0.99: no PnL, 0.099 USDT of fees), then sold
    # 40 at 1.01 paying 0.0404 USDT: realized (1.01 - 0.99) * 40; marked at the last mid 1.02.
    assert bot_1.positions == (PositionView(
        symbol="MTS/USDT", base=D("59.9"), average_cost=D("0.99"), mark=D("1.02"),
        realized=D("0.80"), unrealized=D("1.797"), fees=D("0.1394"), volume=D("139.4"), fills=2,
    ),)
    assert bot_1.open_orders == (
        OrderView("c2", "MTS/USDT", Side.SELL, D("1.01"), D("100"), D("40")),
        OrderView("c4", "MTS/USDT", Side.BUY, D("0.985"), D("20"), D("0")),
    )
    assert [(f.side, f.price, f.amount, f.fee, f.fee_asset) for f in bot_1.recent_fills] == [
        (Side.SELL, D("1.01"), D("40"), D("0.0404"), "USDT"),
        (Side.BUY, D("0.99"), D("100"), D("0.1"), "MTS"),
    ]
    assert (bot_1.state, bot_1.enabled, bot_1.pid, bot_1.restarts) == ("RUNNING", True, 4242, 1)
    assert [(p.symbol, p.exchange, p.strategy) for p in bot_1.pairs] == [
        ("MTS/USDT", "sim", "spread")
    ]


def pair(reader: BoxReader, name: str) -> PairView:
    """Return the one pair of a bot in a fresh snapshot."""
    (only,) = bot(reader, name).pairs
    return only


def event_ts(datadir: DataDir, bot_name: str, seq: int) -> float:
    """Return when an event of a bot's log was written."""
    (event,) = [e for e in read_events(open_events(datadir.events_db(bot_name))) if e.seq == seq]
    return event.ts


def append_state(datadir: DataDir, bot_name: str, symbol: str, body: EventBody) -> int:
    """Append a state event to a bot's log; return its seq."""
    log = EventLog(datadir.events_db(bot_name))
    seq = log.append(symbol, body).seq
    log.close()
    return seq


def test_a_pair_without_a_state_event_is_paused(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    assert pair(reader, "bot-2") == PairView(
        symbol="MTS/BTC", exchange="sim", strategy="grid", shadow=False,
        state=SymbolState.PAUSED, reason="", since=None, trip=None,
    )
    write_bot_2_events(datadir)

    assert (pair(reader, "bot-2").state, pair(reader, "bot-2").since) == (
        SymbolState.PAUSED, None
    )


def test_a_state_event_sets_the_pair_state_reason_and_time(datadir: DataDir) -> None:
    (activated,) = read_events(open_events(datadir.events_db("bot-1")), kinds=(EventKind.STATE,))

    mts_usdt = pair(BoxReader(datadir), "bot-1")

    assert (mts_usdt.state, mts_usdt.reason, mts_usdt.since, mts_usdt.trip) == (
        SymbolState.ACTIVE, "operator", activated.ts, None
    )


def test_a_risk_trip_halts_the_pair_with_its_reason(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    pair(reader, "bot-1")
    seq = risk_trip(datadir, "bot-1", TripKind.DRAWDOWN, "drawdown 5.2% over the 5% limit",
                    SymbolState.HALTED)

    halted = pair(reader, "bot-1")

    assert (halted.state, halted.reason, halted.since, halted.trip) == (
        SymbolState.HALTED, "drawdown 5.2% over the 5% limit", event_ts(datadir, "bot-1", seq),
        TripKind.DRAWDOWN,
    )


def test_the_latest_trip_stays_after_the_operator_clears_and_activates(datadir: DataDir) -> None:
    risk_trip(datadir, "bot-1", TripKind.STALE_DATA, "no book for 5 s", SymbolState.PAUSED)
    risk_trip(datadir, "bot-1", TripKind.REJECT_STORM, "12 rejects in 10 s", SymbolState.HALTED)
    append_state(datadir, "bot-1", "MTS/USDT",
                 SymbolStateChanged(SymbolState.PAUSED, "halt cleared"))
    seq = append_state(datadir, "bot-1", "MTS/USDT",
                       SymbolStateChanged(SymbolState.ACTIVE, "operator"))

    mts_usdt = pair(BoxReader(datadir), "bot-1")

    assert (mts_usdt.state, mts_usdt.reason, mts_usdt.since, mts_usdt.trip) == (
        SymbolState.ACTIVE, "operator", event_ts(datadir, "bot-1", seq), TripKind.REJECT_STORM
    )


def append_row(datadir: DataDir, bot_name: str, kind: str, symbol: str, data: str) -> int:
    """Append a row to a bot's log as it is stored, bypassing the encoder; return its seq."""
    db = open_writer(datadir.events_db(bot_name))
    cursor = db.execute("INSERT INTO events (ts, kind, symbol, data) VALUES (1.0, ?, ?, ?)",
                        [kind, symbol, data])
    db.close()
    return int(cursor.lastrowid or 0)


def test_an_upper_case_state_of_an_older_bot_is_read(datadir: DataDir) -> None:
    append_row(datadir, "bot-1", "state", "MTS/USDT",
               '{"state": "PAUSED", "reason": "RuntimeError: order book gone"}')

    mts_usdt = pair(BoxReader(datadir), "bot-1")

    assert (mts_usdt.state, mts_usdt.reason) == (
        SymbolState.PAUSED, "RuntimeError: order book gone"
    )


def test_a_row_that_cannot_be_read_makes_the_log_unreadable_naming_it(datadir: DataDir) -> None:
    seq = append_row(datadir, "bot-1", "fill", "MTS/USDT", '{"side": "sideways"}')

    bot_1 = bot(BoxReader(datadir), "bot-1")

    assert bot_1.events is LogState.UNREADABLE
    assert f"event {seq} (fill) cannot be read" in bot_1.events_detail


def test_a_bot_start_or_stop_pauses_every_pair_and_keeps_the_last_trip(
    datadir: DataDir,
) -> None:
    write_bot_2_events(datadir)
    risk_trip(datadir, "bot-2", TripKind.POSITION, "inventory 1,200 over the 1,000 limit",
              SymbolState.HALTED)
    reader = BoxReader(datadir)
    append_state(datadir, "bot-1", "", BotStateChanged(BotStatus.STOPPED))
    seq = append_state(datadir, "bot-2", "", BotStateChanged(BotStatus.RUNNING))

    mts_usdt, mts_btc = pair(reader, "bot-1"), pair(reader, "bot-2")

    assert (mts_usdt.state, mts_usdt.reason) == (SymbolState.PAUSED, "the bot stopped")
    assert (mts_btc.state, mts_btc.reason, mts_btc.since, mts_btc.trip) == (
        SymbolState.PAUSED, "the bot started", event_ts(datadir, "bot-2", seq), TripKind.POSITION
    )


def test_a_halt_recorded_after_the_start_shows(datadir: DataDir) -> None:
    append_state(datadir, "bot-1", "", BotStateChanged(BotStatus.RUNNING))
    append_state(datadir, "bot-1", "MTS/USDT", SymbolStateChanged(SymbolState.HALTED, "halt kept"))

    assert pair(BoxReader(datadir), "bot-1").state is SymbolState.HALTED


def test_bot_without_an_event_log_shows_no_events_yet(datadir: DataDir) -> None:
    bot_2 = bot(BoxReader(datadir), "bot-2")

    assert (bot_2.events, bot_2.events_detail) == (LogState.MISSING, "no events yet")
    assert (bot_2.positions, bot_2.open_orders, bot_2.recent_fills) == ((), (), ())
    assert (bot_2.state, bot_2.enabled, bot_2.detail) == (
        "STOPPED", False, "stopped by the operator"
    )


def test_a_log_written_later_is_picked_up(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    bot(reader, "bot-2")
    write_bot_2_events(datadir)

    bot_2 = bot(reader, "bot-2")

    assert bot_2.events is LogState.READ
    assert bot_2.positions == (PositionView(
        symbol="MTS/BTC", base=D("1000"), average_cost=D("0.000024"), mark=D("0.000025"),
        realized=D("0"), unrealized=D("0.001"), fees=D("0.000000024"), volume=D("0.024"), fills=1,
    ),)
    assert bot_2.open_orders == (
        OrderView("g2", "MTS/BTC", Side.SELL, D("0.000026"), D("1000"), D("0")),
    )


def test_new_events_are_folded_in_once(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    bot(reader, "bot-1")
    log = EventLog(datadir.events_db("bot-1"))
    log.append("MTS/USDT", fill("c2", "t3", Side.SELL, "1.03", "19.9", "0", "USDT"))
    log.append("MTS/USDT", quotes("1.05"))
    log.close()

    position = bot(reader, "bot-1").positions[0]

    assert (position.base, position.realized, position.fills) == (D("40.0"), D("1.596"), 3)
    assert position.unrealized == D("1.05") * D("40") - D("0.99") * D("40")
    assert bot(reader, "bot-1").open_orders[0].filled == D("59.9")


def test_the_folded_ledger_equals_a_full_replay(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    log = EventLog(datadir.events_db("bot-1"))
    for step in range(5):
        bot(reader, "bot-1")
        log.append("MTS/USDT", order(f"r{step}", Side.SELL, "1.04", "3"))
        log.append("MTS/USDT", fill(f"r{step}", f"x{step}", Side.SELL, "1.04", "1.5", "0.01",
                                    "USDT"))
    log.close()
    everything = read_events(open_events(datadir.events_db("bot-1")))
    replayed = positions_from_events(everything)["MTS/USDT"]

    bot_1 = bot(reader, "bot-1")

    assert (bot_1.positions[0].base, bot_1.positions[0].realized, bot_1.positions[0].fees) == (
        replayed.base, replayed.realized, replayed.fees
    )
    assert [o.client_id for o in bot_1.open_orders] == [
        o.client_id for o in open_orders_from_events(everything)
    ]


def test_recent_fills_are_the_newest_twenty_newest_first(datadir: DataDir) -> None:
    log = EventLog(datadir.events_db("bot-1"))
    trades = [fill("c4", f"n{i}", Side.BUY, "0.985", "0.5", "0", "USDT") for i in range(25)]
    seqs = [log.append("MTS/USDT", trade).seq for trade in trades]
    log.close()

    fills = bot(BoxReader(datadir), "bot-1").recent_fills

    assert [f.seq for f in fills] == seqs[::-1][:20]


def test_a_quoted_pair_without_fills_is_flat_at_its_mark(datadir: DataDir) -> None:
    log = EventLog(datadir.events_db("bot-2"))
    log.append("MTS/BTC", quotes("0.000025"))
    log.close()

    (position,) = bot(BoxReader(datadir), "bot-2").positions

    assert (position.base, position.mark, position.unrealized, position.fills) == (
        D("0"), D("0.000025"), D("0"), 0
    )


def test_an_unreadable_event_log_is_reported_on_its_bot_only(datadir: DataDir) -> None:
    datadir.events_db("bot-2").parent.mkdir(parents=True)
    datadir.events_db("bot-2").write_bytes(b"not a database at all" * 100)

    bots = {b.name: b for b in BoxReader(datadir).snapshot().bots}

    assert bots["bot-2"].events is LogState.UNREADABLE
    assert str(datadir.events_db("bot-2")) in bots["bot-2"].events_detail
    assert bots["bot-1"].events is LogState.READ


def test_an_unreadable_appliance_db_raises_store_unavailable(datadir: DataDir) -> None:
    datadir.appliance_db.write_bytes(b"garbage" * 1000)
    reader = BoxReader(datadir)

    with pytest.raises(StoreUnavailable, match=r"appliance\.db"):
        reader.snapshot()
    with pytest.raises(StoreUnavailable, match=r"appliance\.db"):
        reader.health()


def test_each_read_log_carries_whether_its_chain_verifies(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    rows = len(read_events(open_events(datadir.events_db("bot-1"))))

    assert bot(reader, "bot-1").chain == Verdict(True, rows)
    assert bot(reader, "bot-2").chain is None, "bot-2 has no log yet"


def test_new_rows_are_verified_and_a_bad_one_is_named(datadir: DataDir) -> None:
    reader = BoxReader(datadir)
    first = bot(reader, "bot-1").chain
    assert first is not None
    log = EventLog(datadir.events_db("bot-1"))
    log.append("MTS/USDT", quotes("1.05"))
    log.close()
    assert bot(reader, "bot-1").chain == Verdict(True, first.rows + 1)

    seq = append_row(datadir, "bot-1", "state", "MTS/USDT", '{"state": "active"}')
    chain = bot(reader, "bot-1").chain

    assert chain is not None and (chain.ok, chain.seq, chain.breach) == (
        False, seq, Breach.EDITED)


def test_a_log_edited_while_the_panel_was_down_is_broken_at_its_start(
    datadir: DataDir,
) -> None:
    db = open_writer(datadir.events_db("bot-1"))
    db.execute("UPDATE events SET data = replace(data, '0.99', '0.89') WHERE seq = 3")
    db.close()

    chain = bot(BoxReader(datadir), "bot-1").chain

    assert chain is not None and (chain.ok, chain.seq) == (False, 3)
