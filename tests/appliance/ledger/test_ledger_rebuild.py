"""Rebuilding from events.db gives exactly the ledger the bot kept live."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.ledger import Position, open_orders_from_events, positions_from_events
from appliance.store.events import EventLog, OrderAcked, OrderCancelled, OrderFilled, OrderSent
from appliance.vocabulary import Side

SYMBOL = "MTS/USDT"
steps = st.lists(st.tuples(
    st.sampled_from(["order", "fill", "cancel"]),
    st.sampled_from(Side),
    st.decimals(min_value=Decimal("1.0000"), max_value=Decimal("1.5000"), places=4),
    st.integers(1, 200),  # tenths of the base asset
    st.booleans(),  # fee in the base asset
), max_size=60)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_rebuild_equals_the_live_ledger(
    actions: list[tuple[str, Side, Decimal, int, bool]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        log = EventLog(Path(folder) / "events.db")
        live = Position(SYMBOL)
        resting: dict[str, Decimal] = {}  # client id -> amount still resting
        sides: dict[str, Side] = {}
        for number, (kind, side, price, tenths, fee_in_base) in enumerate(actions):
            amount = Decimal(tenths) / 10
            if kind == "order" or not resting:
                client_id = f"c{number}"
                resting[client_id], sides[client_id] = amount, side
                log.append(SYMBOL, OrderSent(client_id, side, price, amount))
                log.append(SYMBOL, OrderAcked(client_id, str(number)))
                continue
            client_id = sorted(resting)[number % len(resting)]
            if kind == "cancel":
                del resting[client_id]
                log.append(SYMBOL, OrderCancelled(client_id, None, "cancelled"))
                continue
            side = sides[client_id]
            filled = min(amount, resting[client_id])  # a partial fill, or the rest
            fee = (filled if fee_in_base else filled * price) / 1000
            live.apply_fill(side, price, filled, fee, fee_in_base)
            resting[client_id] -= filled
            if not resting[client_id]:
                del resting[client_id]
            log.append(SYMBOL, OrderFilled(
                client_id, str(number), str(number), side, price, filled, fee,
                "MTS" if fee_in_base else "USDT", "MTS", "USDT"))
        events = log.events()
        log.close()
    assert positions_from_events(events).get(SYMBOL, Position(SYMBOL)) == live
    assert {o.client_id: o.remaining for o in open_orders_from_events(events)} == resting
