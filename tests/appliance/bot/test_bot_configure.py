"""New settings reach a running worker between two cycles, without a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from appliance.config.pair import pair_settings
from appliance.store.events import (
    EventKind,
    EventLog,
    OrderCancelled,
    OrderFilled,
    QuotesChosen,
)
from provisioning.const import SPREAD_PARAMS
from tests.appliance.bot.conftest import active, bodies, resting
from tests.conftest import RunningSimulator


def spread_of(quote: QuotesChosen) -> Any:
    """Return the distance between the best bid and ask a strategy chose."""
    return quote.asks[0][0] - quote.bids[0][0]


async def test_a_wider_spread_is_quoted_at_the_next_cycle(
    client: Any, tmp_path: Path, simulator: RunningSimulator,
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await worker.cycle(time.time())
    before = spread_of(bodies(log, QuotesChosen)[-1])
    settings = pair_settings({"strategy": {"kind": "spread", "params": {
        **SPREAD_PARAMS, "half_spread_bps": 40, "band_bps": 200}}})
    await worker.configure(settings, time.time())
    await worker.cycle(time.time())
    chosen = bodies(log, QuotesChosen)[-1]
    assert spread_of(chosen) > 3 * before, (before, spread_of(chosen))
    assert worker.pair.params["half_spread_bps"] == 40
    await asyncio.sleep(1.1)  # the old quotes rest their minimum time before they are replaced
    await worker.cycle(time.time())
    wanted = {float(p) for p, _ in (*chosen.bids, *chosen.asks)}
    assert {float(o["price"]) for o in resting(simulator)} <= wanted


async def test_a_new_kind_of_strategy_cancels_the_old_quotes_then_plans_afresh(
    client: Any, tmp_path: Path, simulator: RunningSimulator,
) -> None:
    log = EventLog(tmp_path / "events.db")
    worker = await active(client, log)
    await worker.cycle(time.time())
    old = {o["clientOrderId"] for o in resting(simulator)}
    assert len(old) == 2
    ladder = pair_settings({"strategy": {"kind": "ladder", "params": {
        "bin_step": 50, "price_down_pct_limit": "0.02", "price_up_pct_limit": "0.02",
        "bid_size": "100", "ask_size": "100"}}})
    await worker.configure(ladder, time.time())
    gone = {c.client_id for c in bodies(log, OrderCancelled)}
    gone |= {f.client_id for f in bodies(log, OrderFilled)}  # the market may take one first
    assert old <= gone, "the spread's quotes must be gone before the ladder plans"
    assert not old & {o["clientOrderId"] for o in resting(simulator)}
    await worker.cycle(time.time())
    now = {o["clientOrderId"] for o in resting(simulator)}
    assert now and not now & old and len(now) > 2
    assert log.events(kinds=(EventKind.QUOTE,))[-1].body != bodies(log, QuotesChosen)[0]
