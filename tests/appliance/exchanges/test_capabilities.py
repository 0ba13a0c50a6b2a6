"""Capability tables: complete, true to ccxt, refusing what they lack, and read by the venue."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import fields, is_dataclass
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest
from ccxt.base.types import Entry

from appliance.exchanges.adapter import UnknownExchange, connect
from appliance.exchanges.capabilities import (
    TABLES,
    Capabilities,
    NoCapabilities,
    Paging,
    capabilities_of,
)
from appliance.orders.live import ClientIds
from appliance.orders.venue import CcxtVenue, ClientIdUnfit
from appliance.pacing.token_bucket import TokenBucket
from appliance.store.appliance_db import Exchange, ExchangeKey
from appliance.vocabulary import Side
from provisioning.const import BOT_UIDS
from tests.appliance.bot.conftest import BALANCES, GovernedBinance, clients_of
from tests.conftest import RunningSimulator

SYMBOL = "MTS/USDT"
OLD_BINANCE_PARAMS = {"selfTradePreventionMode": "EXPIRE_TAKER",
                      "newClientOrderId": "mmbox-bot-1-7", "postOnly": True}
"""What CcxtVenue sent Binance with each order before the tables existed."""


def declared(value: Any) -> list[tuple[str, Any]]:
    """Return every field of a table and of the tables inside it, by dotted name."""
    found: list[tuple[str, Any]] = []
    for field in fields(value):
        inner = getattr(value, field.name)
        found.append((field.name, inner))
        if is_dataclass(inner) and not isinstance(inner, type):
            found += [(f"{field.name}.{name}", v) for name, v in declared(inner)]
    return found


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_every_table_declares_every_field(table: Capabilities) -> None:
    names = dict(declared(table))
    assert table.ccxt_id in TABLES and TABLES[table.ccxt_id] is table
    assert names["client_order_id.param"] and names["client_order_id.max_length"] > 0
    re.compile(f"[{table.client_order_id.characters}]")
    assert isinstance(table.trade_paging.by, Paging) and table.trade_paging.param
    assert table.post_only, "post-only must be asked for by some parameter"
    absent = [name for name, value in names.items()
              if value is None and name not in NONE_MEANS_NOT_POSSIBLE]
    assert absent == []


NONE_MEANS_NOT_POSSIBLE = {"client_order_id.lookup_param", "weight_header", "key_permissions",
                           "key_permissions.withdraw_mark"}
"""Fields where None is a declared answer ("the exchange has none"), not a gap."""


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_every_table_agrees_with_ccxt(table: Capabilities) -> None:
    client = getattr(ccxt_pro, table.ccxt_id)()
    assert isinstance(client, getattr(ccxt_async, table.ccxt_id))
    assert table.user_stream == bool(client.has["watchOrders"] and client.has["watchMyTrades"])
    permissions = table.key_permissions
    assert permissions is not None
    endpoint = declared_endpoint(client, permissions.ccxt_call)
    assert endpoint.method == permissions.method
    assert permissions.path.endswith("/" + endpoint.path)


def declared_endpoint(client: Any, name: str) -> Entry[Any]:
    """Return ccxt's declaration of the implicit API method `name`: its path, api and method."""
    found = [k.__dict__[name] for k in type(client).__mro__
             if isinstance(k.__dict__.get(name), Entry)]
    assert found, f"ccxt {client.id} declares no {name}"
    return found[0]


def test_binance_gets_the_parameters_it_got_before() -> None:
    assert capabilities_of("binance").order_params("mmbox-bot-1-7") == OLD_BINANCE_PARAMS
    assert capabilities_of("binance").lookup_params("mmbox-bot-1-7") == {
        "origClientOrderId": "mmbox-bot-1-7"}
    assert capabilities_of("binance").trade_params(41) == {"fromId": 42}
    assert capabilities_of("binance").trade_params(0) == {}


@pytest.mark.parametrize("ccxt_id", ["okx", "bybit"])
def test_exchanges_paged_otherwise_ask_for_the_newest_page(ccxt_id: str) -> None:
    assert capabilities_of(ccxt_id).trade_params(41) == {}


def test_an_exchange_without_a_table_is_refused_by_name() -> None:
    with pytest.raises(NoCapabilities, match="does not support exchange 'kraken' yet") as refused:
        capabilities_of("kraken")
    assert "binance, bybit, okx" in str(refused.value)


def test_connect_refuses_an_exchange_without_a_table() -> None:
    key = ExchangeKey("bot-1.kraken.hmac", "kraken", "bot-1", "hmac", "api-key")
    with pytest.raises(NoCapabilities, match="'kraken'"):
        connect(Exchange("kraken", "kraken", None), key, Unreached())
    with pytest.raises(UnknownExchange, match="'no-such-id'"):
        connect(Exchange("nowhere", "no-such-id", None), key, Unreached())


class Unreached:
    """A signer connect must never reach for an exchange it refuses."""

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        raise AssertionError("signed for a refused exchange")

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        raise AssertionError("signed for a refused exchange")


def test_a_table_lacking_a_need_names_what_is_missing() -> None:
    with pytest.raises(NoCapabilities, match=r"bybit yet.*trade_paging\.ascending_ids"):
        capabilities_of("bybit", "trade_paging.ascending_ids")
    assert capabilities_of("okx", "trade_paging.ascending_ids", "user_stream").ccxt_id == "okx"


async def test_the_venue_refuses_an_exchange_whose_trade_ids_do_not_order_fills() -> None:
    client = ccxt_async.bybit()
    try:
        with pytest.raises(NoCapabilities, match=r"trade_paging\.ascending_ids"):
            CcxtVenue(client, "BTC/USDT", TokenBucket(10, 1.0, time.time()))
    finally:
        await client.close()


def made_ids(bot: str) -> list[str]:
    """Return client ids the manager makes for `bot`: the first, and one far into its life."""
    return [ClientIds(bot, 0).next(), ClientIds(bot, 10**12).next()]


@pytest.mark.parametrize("table", [
    TABLES["binance"],
    TABLES["bybit"],
    TABLES["okx"],
], ids=["binance", "bybit", "okx"])
def test_the_client_ids_we_make_fit_every_exchange(table: Capabilities) -> None:
    unfit = [i for bot in BOT_UIDS for i in made_ids(bot) if not table.client_order_id.fits(i)]
    assert unfit == []


async def test_the_venue_sends_no_order_whose_client_id_the_exchange_would_refuse() -> None:
    client = ccxt_async.okx()
    budget = TokenBucket(10, 1.0, time.time())
    try:
        venue = CcxtVenue(client, "BTC/USDT", budget)
        with pytest.raises(ClientIdUnfit, match=r"'mmbox-bot-1-1'.*clOrdId: 1 to 32 of "
                                                r"\[A-Za-z0-9\]; the order was not sent"):
            await venue.create(time.time(), Side.BUY, "1", "100", "mmbox-bot-1-1")
        assert await venue.budget(time.time()) == 10
    finally:
        await client.close()


@pytest.fixture
async def binance(simulator: RunningSimulator) -> AsyncIterator[Any]:
    """A ccxt async binance client on the simulator for an account with both assets."""
    async for make in clients_of(simulator, GovernedBinance):
        yield await make(BALANCES)


async def test_the_venue_places_looks_up_and_pages_binance_orders_by_the_table(
    binance: Any,
) -> None:
    venue = CcxtVenue(binance, SYMBOL, TokenBucket(10, 1.0, time.time()))
    book = await venue.book()
    placed = await venue.create(time.time(), Side.BUY, "10", str(book["bids"][-1][0]),
                                "mmbox-bot-1-7")
    info = (await binance.fetch_order(placed["id"], SYMBOL))["info"]
    assert (info["clientOrderId"], info["type"], info["selfTradePreventionMode"]) == (
        "mmbox-bot-1-7", "LIMIT_MAKER", "EXPIRE_TAKER")
    assert await venue.order(None, "mmbox-bot-1-7") == {"id": placed["id"], "status": "open"}
    await binance.create_order(SYMBOL, "market", "buy", 5)
    trades = await venue.trades(0)
    assert trades and await venue.trades(int(trades[-1]["id"])) == []
    assert await venue.trades(int(trades[0]["id"]) - 1) == trades
