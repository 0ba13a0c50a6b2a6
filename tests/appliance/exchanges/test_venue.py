"""Pointing ccxt binance at the simulator rewrites every API origin and quiets extra calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from appliance.exchanges.venue import (
    NotABinanceClientError,
    NotASimulatorUrlError,
    point_at_simulator,
)


@pytest.fixture
async def binance() -> AsyncIterator[Any]:
    """Return a fresh ccxt binance instance that never connects."""
    exchange = ccxt.binance()
    yield exchange
    await exchange.close()


async def test_every_api_keeps_its_path_on_the_simulator(binance: Any) -> None:
    original = dict(binance.urls["api"])
    point_at_simulator(binance, "http://127.0.0.1:9100")
    assert binance.urls["api"].keys() == original.keys()
    assert binance.urls["api"]["public"] == "http://127.0.0.1:9100/api/v3"
    assert binance.urls["api"]["private"] == "http://127.0.0.1:9100/api/v3"
    assert binance.urls["api"]["sapi"] == "http://127.0.0.1:9100/sapi/v1"
    assert all(url.startswith("http://127.0.0.1:9100/") for url in binance.urls["api"].values())


async def test_options_keep_load_markets_to_spot_exchange_info(binance: Any) -> None:
    point_at_simulator(binance, "http://localhost:9100/")
    assert binance.options["fetchMarkets"] == {"types": ["spot"]}
    assert binance.options["fetchCurrencies"] is False
    assert binance.options["fetchMargins"] is False


async def test_a_url_that_is_not_an_http_origin_is_refused(binance: Any) -> None:
    with pytest.raises(NotASimulatorUrlError, match="not an http"):
        point_at_simulator(binance, "127.0.0.1:9100")


async def test_a_client_of_another_exchange_is_refused() -> None:
    kraken = ccxt.kraken()
    try:
        with pytest.raises(NotABinanceClientError, match="ccxt id to binance"):
            point_at_simulator(kraken, "http://127.0.0.1:9100")
    finally:
        await kraken.close()


async def test_other_binance_clients_keep_binance(binance: Any) -> None:
    point_at_simulator(binance, "http://127.0.0.1:9100")
    untouched = ccxt.binance()
    try:
        assert untouched.urls["api"]["public"] == "https://api.binance.com/api/v3"
        assert untouched.options["fetchCurrencies"] is True
    finally:
        await untouched.close()


async def test_a_pro_client_streams_from_the_simulator_websockets() -> None:
    pro = ccxtpro.binance()
    try:
        point_at_simulator(pro, "http://127.0.0.1:9100")
        websockets = pro.urls["api"]["ws"]
        assert websockets["spot"] == "ws://127.0.0.1:9100/ws"
        assert websockets["ws-api"]["spot"] == "ws://127.0.0.1:9100/ws-api/v3"
        assert pro.urls["api"]["public"] == "http://127.0.0.1:9100/api/v3"
        point_at_simulator(pro, "https://sim.local:9443/base")
        assert pro.urls["api"]["ws"]["spot"] == "wss://sim.local:9443/base/ws"
    finally:
        await pro.close()
