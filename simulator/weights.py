"""Binance's request weight of each REST endpoint, as its API description gives them."""

from __future__ import annotations

from collections.abc import Callable, Mapping

Weigh = Callable[[Mapping[str, str]], int]


def _fixed(weight: int) -> Weigh:
    """Return a weight that does not depend on the parameters."""
    return lambda params: weight


def _by_symbol(single: int, every: int) -> Weigh:
    """Return a weight for one symbol when `symbol` is sent, for every symbol otherwise."""
    return lambda params: single if "symbol" in params else every


def _depth(params: Mapping[str, str]) -> int:
    """Return the weight of `/api/v3/depth`, which grows with `limit`."""
    limit_text = params.get("limit", "100")
    limit = int(limit_text) if limit_text.isdigit() else 100
    for bound, weight in ((100, 5), (500, 25), (1000, 50)):
        if limit <= bound:
            return weight
    return 250


def _day_ticker(params: Mapping[str, str]) -> int:
    """Return the weight of `/api/v3/ticker/24hr`: by the number of symbols asked for."""
    if "symbol" in params:
        return 2
    listed = params.get("symbols")
    if listed is None:
        return 80
    count = listed.count(",") + 1
    return 2 if count <= 20 else 40 if count <= 100 else 80


def _test_order(params: Mapping[str, str]) -> int:
    """Return the weight of `/api/v3/order/test`: more when commission rates are computed."""
    return 20 if params.get("computeCommissionRates") == "true" else 1


WEIGHTS: dict[tuple[str, str], Weigh] = {
    ("GET", "/api/v3/ping"): _fixed(1),
    ("GET", "/api/v3/time"): _fixed(1),
    ("GET", "/api/v3/exchangeInfo"): _fixed(10),
    ("GET", "/api/v3/depth"): _depth,
    ("GET", "/api/v3/trades"): _fixed(10),
    ("GET", "/api/v3/aggTrades"): _fixed(2),
    ("GET", "/api/v3/klines"): _fixed(2),
    ("GET", "/api/v3/avgPrice"): _fixed(2),
    ("GET", "/api/v3/ticker/24hr"): _day_ticker,
    ("GET", "/api/v3/ticker/price"): _by_symbol(2, 4),
    ("GET", "/api/v3/ticker/bookTicker"): _by_symbol(2, 4),
    ("POST", "/api/v3/order/test"): _test_order,
    ("POST", "/api/v3/order"): _fixed(1),
    ("GET", "/api/v3/order"): _fixed(4),
    ("DELETE", "/api/v3/order"): _fixed(1),
    ("GET", "/api/v3/openOrders"): _by_symbol(6, 80),
    ("DELETE", "/api/v3/openOrders"): _fixed(1),
    ("GET", "/api/v3/allOrders"): _fixed(20),
    ("GET", "/api/v3/account"): _fixed(20),
    ("GET", "/api/v3/myTrades"): _fixed(20),
    ("POST", "/api/v3/userDataStream"): _fixed(2),
    ("PUT", "/api/v3/userDataStream"): _fixed(2),
    ("DELETE", "/api/v3/userDataStream"): _fixed(2),
    ("GET", "/sapi/v1/account/apiRestrictions"): _fixed(1),
}
"""Request weight by method and path; a request to anything else weighs 1."""


def request_weight(method: str, path: str, params: Mapping[str, str]) -> int:
    """Return the weight a request counts against its IP's limit."""
    weigh = WEIGHTS.get((method, path))
    return 1 if weigh is None else weigh(params)
