"""OKX's and Bybit's order requests, built by ccxt from the tables and signed by a real signer.

Nothing is sent: each request is built with ccxt's own request builder and `sign()`, as
`create_order` and `cancel_order` call them, on a market structure given without any network;
its signature is then checked against Python's hmac over the exchange's documented prehash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import pytest

from appliance.datadir import DataDir
from appliance.exchanges.capabilities import capabilities_of
from appliance.exchanges.signing import SignerMixin
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import Token
from tests.appliance.exchanges.test_capabilities import declared_endpoint
from tests.hsm.signer_bed import allow, start_signer, stop, wait_until_serving

LABEL = "bot-1.venue.hmac"
TEST_SECRET = b"request-building-test-secret-0123456789abcdef"
PASSPHRASE = "test-passphrase"
PIN = "request-user-pin"
CLIENT_ID = "mmbox7"
"""A client order id that fits every exchange's field (OKX's takes no '-')."""
ORDER_ID = "1234567890"
SYMBOL = "BTC/USDT"


class SignedOkx(SignerMixin, ccxt_async.okx):  # type: ignore[misc]
    """okx signing through the signer, as `connect` builds it."""


class SignedBybit(SignerMixin, ccxt_async.bybit):  # type: ignore[misc]
    """bybit signing through the signer, as `connect` builds it."""


@pytest.fixture
def signer(tmp_path: Path) -> Iterator[SignerClient]:
    """Run a signer on a token holding TEST_SECRET under LABEL, for this test's uid."""
    data = DataDir(tmp_path / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, "request-so-pin", PIN)
    use_config(data)
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, PIN) as token:
        token.import_hmac(LABEL, TEST_SECRET)
    process = start_signer(data, PIN, tmp_path / "signer.log", *allow(f"{os.getuid()}={LABEL}"))
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        yield client
    finally:
        client.close()
        stop(process)


def spot_market(market_id: str) -> dict[str, Any]:
    """Return a ccxt spot market structure for BTC/USDT with the exchange's id."""
    return {
        "id": market_id, "symbol": SYMBOL, "base": "BTC", "quote": "USDT", "baseId": "BTC",
        "quoteId": "USDT", "type": "spot", "spot": True, "margin": False, "swap": False,
        "future": False, "option": False, "contract": False, "linear": None, "inverse": None,
        "active": True, "precision": {"amount": 0.0001, "price": 0.1},
        "limits": {"amount": {"min": 0.0001, "max": None}, "price": {"min": 0.1, "max": None},
                   "cost": {"min": None, "max": None}},
    }


async def signed_client(kind: type, signer: SignerClient, market_id: str,
                        **config: str) -> AsyncIterator[Any]:
    """Yield a `kind` client whose secret is LABEL, with one market and no network."""
    client = kind({"apiKey": "test-api-key", "secret": LABEL, **config})
    client.signer = signer
    client.set_markets([spot_market(market_id)])
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def okx(signer: SignerClient) -> AsyncIterator[Any]:
    """An okx client on the signer, with its passphrase."""
    async for client in signed_client(SignedOkx, signer, "BTC-USDT", password=PASSPHRASE):
        yield client


@pytest.fixture
async def bybit(signer: SignerClient) -> AsyncIterator[Any]:
    """A bybit client on the signer."""
    async for client in signed_client(SignedBybit, signer, "BTCUSDT"):
        yield client


def signed(client: Any, method_name: str, params: Any) -> dict[str, Any]:
    """Return the request ccxt's implicit method `method_name` would send with `params`."""
    endpoint = declared_endpoint(client, method_name)
    request: dict[str, Any] = client.sign(endpoint.path, endpoint.api, endpoint.method, params)
    assert LABEL not in json.dumps(request), "the key label must not travel"
    return request


def okx_signature(request: dict[str, Any]) -> str:
    """Return OKX's signature: base64 HMAC-SHA256 of timestamp + method + path + body."""
    headers = request["headers"]
    prehash = (headers["OK-ACCESS-TIMESTAMP"] + request["method"]
               + urlsplit(request["url"]).path + (request["body"] or ""))
    return base64.b64encode(hmac.new(TEST_SECRET, prehash.encode(), hashlib.sha256).digest()
                            ).decode()


def bybit_signature(request: dict[str, Any]) -> str:
    """Return Bybit v5's signature: hex HMAC-SHA256 of timestamp + key + recv window + body."""
    headers = request["headers"]
    prehash = (headers["X-BAPI-TIMESTAMP"] + headers["X-BAPI-API-KEY"]
               + headers["X-BAPI-RECV-WINDOW"] + request["body"])
    return hmac.new(TEST_SECRET, prehash.encode(), hashlib.sha256).hexdigest()


def test_okx_create_order_carries_our_id_and_verifies(okx: Any) -> None:
    table = capabilities_of("okx")
    order = okx.create_order_request(SYMBOL, "limit", "buy", 0.01, 30000.0,
                                     table.order_params(CLIENT_ID))
    request = signed(okx, okx.options["createOrder"], [order])
    assert urlsplit(request["url"]).path == "/api/v5/trade/batch-orders"
    [body] = json.loads(request["body"])
    assert (body["clOrdId"], body["ordType"], body["stpMode"]) == (
        CLIENT_ID, "post_only", "cancel_taker")
    assert "tag" not in body, "ccxt's broker id must not replace ours"
    assert request["headers"]["OK-ACCESS-PASSPHRASE"] == PASSPHRASE
    assert request["headers"]["OK-ACCESS-SIGN"] == okx_signature(request)
    assert request["headers"]["OK-ACCESS-SIGN"] != okx_signature(
        {**request, "body": request["body"].replace(CLIENT_ID, "mmbox8")})


def test_okx_cancel_order_verifies(okx: Any) -> None:
    # okx.cancel_order's request, for an order named by its exchange id as the venue cancels
    request = signed(okx, "privatePostTradeCancelOrder", {"instId": "BTC-USDT", "ordId": ORDER_ID})
    assert urlsplit(request["url"]).path == "/api/v5/trade/cancel-order"
    assert json.loads(request["body"]) == {"instId": "BTC-USDT", "ordId": ORDER_ID}
    assert request["headers"]["OK-ACCESS-SIGN"] == okx_signature(request)


def test_bybit_create_order_carries_our_id_and_verifies(bybit: Any) -> None:
    table = capabilities_of("bybit")
    order = bybit.create_order_request(SYMBOL, "limit", "buy", 0.01, 30000.0,
                                       table.order_params(CLIENT_ID), True)
    request = signed(bybit, "privatePostV5OrderCreate", order)
    assert urlsplit(request["url"]).path == "/v5/order/create"
    body = json.loads(request["body"])
    assert (body["orderLinkId"], body["timeInForce"], body["smpType"], body["category"]) == (
        CLIENT_ID, "PostOnly", "CancelTaker", "spot")
    assert request["headers"]["X-BAPI-SIGN"] == bybit_signature(request)
    assert request["headers"]["X-BAPI-SIGN"] != bybit_signature(
        {**request, "body": request["body"].replace(CLIENT_ID, "mmbox8")})


def test_bybit_cancel_order_verifies(bybit: Any) -> None:
    request = signed(bybit, "privatePostV5OrderCancel",
                     bybit.cancel_order_request(ORDER_ID, SYMBOL))
    assert urlsplit(request["url"]).path == "/v5/order/cancel"
    assert json.loads(request["body"])["orderId"] == ORDER_ID
    assert request["headers"]["X-BAPI-SIGN"] == bybit_signature(request)
