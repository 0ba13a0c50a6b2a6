"""Connect a bot to an exchange through ccxt's async API, signing through the signer.

Where ccxt.pro has the exchange, the client is ccxt.pro's class, which adds websocket streams
(`watch_order_book`, `watch_trades`, ...) to the same REST methods.
"""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

from appliance.exchanges.api_log import ApiLog, ApiLogMixin
from appliance.exchanges.capabilities import capabilities_of
from appliance.exchanges.signing import Signer, SignerMixin, ccxt_secret
from appliance.exchanges.venue import point_at_simulator
from appliance.exchanges.weight import WeightMixin
from appliance.store.appliance_db import Exchange, ExchangeKey


class UnknownExchange(Exception):
    """The configured ccxt id names no exchange ccxt knows."""


def connect(
    exchange: Exchange, key: ExchangeKey, signer: Signer, *, streams: bool = True,
    api_log: ApiLog | None = None, passphrase: str | None = None,
) -> Any:
    """Return a ccxt async client for `exchange` whose secret is the token key's label.

    An exchange ccxt does not know is refused (UnknownExchange), and so is one the box has no
    capability table for (NoCapabilities).

    With `streams`, the client is ccxt.pro's where ccxt.pro has the exchange. Its REST
    requests keep within the exchange's request-weight limits (see `weight`), which needs
    ccxt's rate limiting on. `passphrase` is the account's, read from the token by the caller,
    for exchanges that ask for one; an account on the exchange's sandbox is sent there.
    """
    base = getattr(ccxt_pro, exchange.ccxt_id, None) if streams else None
    if not isinstance(base, type):
        base = getattr(ccxt_async, exchange.ccxt_id, None)
    if not isinstance(base, type):
        raise UnknownExchange(
            f"exchange '{exchange.name}' names ccxt id '{exchange.ccxt_id}', which ccxt does not "
            "know; fix the exchange's ccxt id in the panel"
        )
    capabilities_of(exchange.ccxt_id)
    signed = type(f"Signed{base.__name__}", (SignerMixin, WeightMixin, ApiLogMixin, base), {})
    config = {"apiKey": key.api_key, "secret": ccxt_secret(key.label, key.kind),
              "enableRateLimit": True}
    if passphrase is not None:
        config["password"] = passphrase
    if key.uid is not None:
        config["uid"] = key.uid
    client = signed(config)
    client.signer = signer
    client.api_log = api_log
    if exchange.api_url:
        point_at_simulator(client, exchange.api_url)
    elif exchange.sandbox:
        client.set_sandbox_mode(True)
    return client
