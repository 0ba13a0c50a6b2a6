"""The event log's encoding: every body reads back as written, older rows read as typed bodies,
and a row that cannot be read is named."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.risk.const import SymbolState, TripKind
from appliance.store.database import open_writer
from appliance.store.events import (
    KIND_OF,
    BotStateChanged,
    BotStatus,
    EventBody,
    EventDecodeError,
    EventKind,
    EventLog,
    OrderAcked,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderSent,
    QuotesChosen,
    RiskTripped,
    SymbolStateChanged,
    decode,
    encode,
    open_events,
    read_events,
)
from appliance.vocabulary import Side

D = Decimal

numbers = st.decimals(allow_nan=False, allow_infinity=False)
texts = st.text()
sides = st.sampled_from(Side)
states = st.sampled_from(SymbolState)
levels = st.lists(st.tuples(numbers, numbers), max_size=5).map(tuple)

bodies: st.SearchStrategy[EventBody] = st.one_of(
    st.builds(BotStateChanged, st.sampled_from(BotStatus)),
    st.builds(SymbolStateChanged, states, texts, texts, texts),
    st.builds(QuotesChosen, st.none() | numbers, levels, levels),
    st.builds(OrderSent, texts, sides, numbers, numbers),
    st.builds(OrderAcked, texts, texts),
    st.builds(OrderRejected, texts, texts, texts),
    st.builds(OrderFilled, texts, texts, texts, sides, numbers, numbers, numbers, texts, texts,
              texts),
    st.builds(OrderCancelled, texts, st.none() | texts, texts),
    st.builds(RiskTripped, st.sampled_from(TripKind), texts, states),
)


def stored(body: EventBody) -> EventBody:
    """Return a body as it reads back from the row it is stored as."""
    return decode(1, KIND_OF[type(body)].value, encode(body))


@given(bodies)
def test_every_body_reads_back_as_written(body: EventBody) -> None:
    assert stored(body) == body


SENT = OrderSent("c1", Side.BUY, D("0.99"), D("100"))
ONE_OF_EACH: list[EventBody] = [
    BotStateChanged(BotStatus.RUNNING),
    SymbolStateChanged(SymbolState.ACTIVE, "activated by the operator", "alice", "f" * 64),
    QuotesChosen(D("1.00"), ((D("0.99"), D("100")),), ((D("1.01"), D("100")),)),
    SENT,
    OrderAcked("c1", "11"),
    OrderFilled("c1", "11", "7", Side.BUY, D("0.99"), D("40"), D("0.04"), "MTS", "MTS", "USDT"),
    OrderCancelled("c1", "11", "cancelled"),
    OrderRejected("c2", "post_only", "Order would immediately match and take."),
    RiskTripped(TripKind.DRAWDOWN, "equity 949 is 51 below its peak 1000", SymbolState.HALTED),
]


def test_the_log_returns_each_event_as_it_appended_it(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.db")
    appended = [log.append("" if i == 0 else "MTS/USDT", body)
                for i, body in enumerate(ONE_OF_EACH)]

    assert log.events() == appended
    assert [event.seq for event in appended] == list(range(1, len(ONE_OF_EACH) + 1))
    assert log.events(since=3, kinds=(EventKind.ORDER, EventKind.FILL)) == [
        event for event in appended if isinstance(event.body, OrderSent | OrderFilled)
    ]
    assert (log.count(EventKind.STATE), log.count(EventKind.ORDER)) == (2, 1)
    log.close()


def test_a_quote_row_still_names_its_best_bid_and_ask_for_older_readers() -> None:
    row = json.loads(encode(ONE_OF_EACH[2]))

    assert (row["bid"], row["ask"]) == (["0.99", "100"], ["1.01", "100"])
    assert json.loads(encode(QuotesChosen(None, (), ())))["bid"] is None


@pytest.mark.parametrize(("kind", "row", "body"), [
    ("state", '{"state": "PAUSED", "reason": "RuntimeError: order book gone"}',
     SymbolStateChanged(SymbolState.PAUSED, "RuntimeError: order book gone")),
    ("state", '{"state": "HALTED", "reason": "halted by the operator"}',
     SymbolStateChanged(SymbolState.HALTED, "halted by the operator")),
    ("state", '{"state": "paused"}', SymbolStateChanged(SymbolState.PAUSED, "")),
    ("state", '{"state": "stopped"}', BotStateChanged(BotStatus.STOPPED)),
    ("risk", '{"trip": "stale_data", "reason": "market data is stale", "state": "PAUSED"}',
     RiskTripped(TripKind.STALE_DATA, "market data is stale", SymbolState.PAUSED)),
    ("reject", '{"client_id": "c2", "error": "never reached the exchange"}',
     OrderRejected("c2", "", "never reached the exchange")),
    ("quote", '{"mid": "1.00", "bid": ["0.99", "100"], "ask": null}',
     QuotesChosen(D("1.00"), ((D("0.99"), D("100")),), ())),
    ("quote", '{"mid": null, "bid": null, "ask": null}', QuotesChosen(None, (), ())),
    ("cancel", '{"client_id": "c3", "reason": "not on the exchange"}',
     OrderCancelled("c3", None, "not on the exchange")),
    ("fill", '{"client_id": "c1", "order_id": 11, "trade_id": 7, "side": "sell", "price": 1.01,'
             ' "amount": "40", "fee": "0.0404", "fee_asset": "USDT", "base": "MTS",'
             ' "quote": "USDT"}',
     OrderFilled("c1", "11", "7", Side.SELL, D("1.01"), D("40"), D("0.0404"), "USDT", "MTS",
                 "USDT")),
])
def test_rows_older_versions_wrote_read_as_typed_bodies(
    kind: str, row: str, body: EventBody
) -> None:
    assert decode(5, kind, row) == body


@pytest.mark.parametrize(("kind", "row"), [
    ("fill", '{"side": "sideways"}'),
    ("order", '{"client_id": "c1", "side": "buy", "price": "cheap", "amount": "1"}'),
    ("state", '{"state": "asleep"}'),
    ("risk", '{"trip": "boredom", "state": "paused"}'),
    ("ack", '{"client_id": "c1"}'),
    ("quote", '{"mid": "1", "bids": [["1"]]}'),
    ("reject", "[]"),
    ("cancel", '"c1"'),
    ("state", "not json at all"),
    ("teleport", "{}"),
])
def test_a_row_that_cannot_be_read_raises_naming_it(kind: str, row: str) -> None:
    with pytest.raises(EventDecodeError, match=rf"^event 42 \({kind}\) cannot be read"):
        decode(42, kind, row)


def test_reading_a_log_with_a_junk_row_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    log = EventLog(path)
    log.append("MTS/USDT", SENT)
    log.close()
    db = open_writer(path)
    db.execute("INSERT INTO events (ts, kind, symbol, data) VALUES (1.0, 'fill', 'MTS/USDT', ?)",
               ['{"side": "sideways"}'])
    db.close()
    reader = open_events(path)

    assert [event.body for event in read_events(reader, kinds=(EventKind.ORDER,))] == [SENT]
    with pytest.raises(EventDecodeError, match=r"^event 2 \(fill\)"):
        read_events(reader)
    reader.close()
