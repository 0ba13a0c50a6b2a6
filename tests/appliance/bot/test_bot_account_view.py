"""The account as the exchange reports it, beside the bot's view: a real bot, signer and
simulator, and an order the bot did not place, made at the exchange with the account's key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.exchanges.venue import point_at_simulator
from provisioning.sim_accounts import open_account
from tests.appliance.bot.test_bot_pairs import (
    BALANCES,
    BOT,
    SECOND_ACCOUNT,
    box_with,
    running_bot,
    start_quoting,
    store_pair,
    until,
)
from tests.conftest import RunningSimulator

SYMBOL = "MTS/USDT"


def symbol_of(answer: Any) -> dict[str, Any]:
    (account,) = [a for a in answer["accounts"] if a["exchange"] == "sim"]
    (view,) = account["symbols"]
    return dict(view)


async def test_the_account_matches_until_an_order_is_placed_behind_the_bots_back(
    tmp_path: Path, simulator: RunningSimulator,
) -> None:
    credential = open_account(simulator.url, BOT, BALANCES)
    accounts = {"sim": credential,
                "sim-2": open_account(simulator.url, SECOND_ACCOUNT, BALANCES)}
    with box_with(tmp_path, simulator, accounts) as data:
        store_pair(data, SYMBOL)
        async with running_bot(data) as control:
            await start_quoting(control, simulator, SYMBOL)
            answer = await control.call("account")
            assert answer["bot"] == BOT
            (account,) = [a for a in answer["accounts"] if a["exchange"] == "sim"]
            assert account["balances"]["MTS"]["total"]
            view = symbol_of(answer)
            assert view["exchange_orders"]
            assert (view["unknown_orders"], view["missing_orders"]) == ([], [])
            assert {o["client_id"] for o in view["box_orders"]} == {
                o["client_id"] for o in view["exchange_orders"]}

            outsider = ccxt_async.binance({"apiKey": credential.api_key,
                                           "secret": credential.secret})
            point_at_simulator(outsider, simulator.url)
            try:
                await outsider.load_markets()
                placed = await outsider.create_order(
                    SYMBOL, "limit", "buy", 10, 0.5, {"newClientOrderId": "by-hand-1"})
            finally:
                await outsider.close()

            async def flagged() -> bool:
                return "by-hand-1" in symbol_of(await control.call("account"))["unknown_orders"]

            await until(flagged, "the order placed by hand shows as unknown to the bot")
            assert placed["clientOrderId"] == "by-hand-1"
