"""Point a ccxt binance instance (async or pro) at the exchange simulator instead of Binance."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SIMULATOR_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}
"""Options that keep `load_markets` to the one call the simulator serves: exchangeInfo."""

WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}


class NotASimulatorUrlError(ValueError):
    """The base URL given for the simulator is not an http(s) origin."""


class NotABinanceClientError(ValueError):
    """Only a ccxt binance client can talk to the simulator, which speaks Binance's API."""


def point_at_simulator(exchange: Any, base_url: str) -> None:
    """Send every API of a ccxt binance instance to the simulator, keeping each API's path.

    `https://api.binance.com/api/v3` becomes `http://127.0.0.1:9100/api/v3`, and so on for
    every entry of `urls['api']`; a ccxt.pro client's websocket URLs (`urls['api']['ws']`)
    become `ws://127.0.0.1:9100/ws`, `ws://127.0.0.1:9100/ws-api/v3` and so on. The options
    make `load_markets` ask only for spot markets.
    """
    if exchange.id != "binance":
        raise NotABinanceClientError(
            f"the simulator speaks Binance's spot API, not {exchange.id}'s; "
            "set the exchange's ccxt id to binance to trade on the simulator"
        )
    origin = urlsplit(base_url)
    if origin.scheme not in WEBSOCKET_SCHEMES or not origin.netloc:
        raise NotASimulatorUrlError(
            f"simulator URL '{base_url}' is not an http(s) origin; use e.g. http://127.0.0.1:9100"
        )
    exchange.urls["api"] = _rebased(exchange.urls["api"], origin.scheme, origin.netloc, origin.path)
    for option, value in SIMULATOR_OPTIONS.items():
        exchange.options[option] = copy.deepcopy(value)


def _rebased(urls: Any, scheme: str, netloc: str, base_path: str) -> Any:
    """Return URLs, or nested maps of them, moved to the simulator's origin under its path."""
    if isinstance(urls, dict):
        return {name: _rebased(url, scheme, netloc, base_path) for name, url in urls.items()}
    parts = urlsplit(urls)
    if parts.scheme in ("ws", "wss"):
        scheme = WEBSOCKET_SCHEMES[scheme]
    return urlunsplit((scheme, netloc, base_path.rstrip("/") + parts.path, "", ""))
