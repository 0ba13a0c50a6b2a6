"""Test an exchange account before the box trades on it: markets, balances, the key's rights.

A key the exchange reports as able to withdraw is refused: the box needs only to read and to
trade, and a key that can move funds off the exchange is a risk no market maker needs. The
market facts a new pair is checked against (its rules and price now) come from the exchange's
public endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async

from appliance.exchanges.capabilities import TABLES, KeyPermissions
from appliance.exchanges.venue import point_at_simulator
from appliance.market.rules import MarketRules
from appliance.store.appliance_db import Exchange

BALANCES_SHOWN = 20
ERROR_SHOWN = 200
"""How much of an exchange's error message a refusal repeats."""

TRADE_ONLY_HELP = (
    "this API key can withdraw funds, and the box refuses keys that can: create a trade-only "
    "key at the exchange (reading and spot trading on, withdrawals off; on Binance: API "
    "Management, Edit restrictions, leave 'Enable Withdrawals' unticked) and enter that one")


class ProbeRefused(Exception):
    """The account cannot be used as it is; the message says why and what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Permissions:
    """What the exchange says the key may do; None where it does not say."""

    reported: bool
    withdraw: bool | None


@dataclass(frozen=True)
class Probe:
    """What a test of an account found."""

    markets: int
    balances: dict[str, str]
    """The non-zero totals, at most BALANCES_SHOWN, as decimal strings."""
    permissions: Permissions
    asset_markets: list[str]
    """The spot markets of the licensed asset on the exchange."""


async def probe(client: Any, asset: str) -> Probe:
    """Load markets, read balances and the key's rights through `client`; refuse a key that
    can withdraw (ProbeRefused withdraw_enabled) or an account that does not answer
    (ProbeRefused connection_failed)."""
    try:
        markets = await client.load_markets()
        balance = await client.fetch_balance()
        permissions = await _permissions(client, TABLES[str(client.id)].key_permissions)
    except ccxt_async.BaseError as exc:
        raise failure(exc) from None
    if permissions.withdraw:
        raise ProbeRefused("withdraw_enabled", TRADE_ONLY_HELP)
    totals = {str(name): format(Decimal(str(amount)).normalize(), "f")
              for name, amount in (balance.get("total") or {}).items() if amount}
    shown = dict(sorted(totals.items())[:BALANCES_SHOWN])
    mine = sorted(symbol for symbol, market in markets.items()
                  if market.get("spot") and market.get("base") == asset)
    return Probe(len(markets), shown, permissions, mine)


async def _permissions(client: Any, where: KeyPermissions | None) -> Permissions:
    """Return the key's rights as the exchange reports them at `where`."""
    if where is None:
        return Permissions(False, None)
    answer: Any = await getattr(client, where.ccxt_call)()
    for step in where.withdraw_field:
        try:
            answer = answer[step]
        except (KeyError, IndexError, TypeError):
            return Permissions(False, None)  # the answer does not say: nothing to refuse on
    if where.withdraw_mark is None:
        return Permissions(True, answer is True or str(answer).lower() == "true")
    marks = answer if isinstance(answer, list) else str(answer).split(",")
    return Permissions(True, where.withdraw_mark in [str(mark).strip() for mark in marks])


def public_client(exchange: Exchange) -> Any:
    """Return a ccxt async client of `exchange` without keys, for its public endpoints."""
    client = getattr(ccxt_async, exchange.ccxt_id)({"enableRateLimit": True})
    if exchange.api_url:
        point_at_simulator(client, exchange.api_url)
    elif exchange.sandbox:
        client.set_sandbox_mode(True)
    return client


async def market_facts(exchange: Exchange, symbol: str) -> tuple[MarketRules, Decimal] | None:
    """Return a market's rules and last price on `exchange`; None when it has no such market."""
    client = public_client(exchange)
    try:
        markets = await client.load_markets()
        market = markets.get(symbol)
        if market is None or not market.get("spot"):
            return None
        ticker = await client.fetch_ticker(symbol)
    except ccxt_async.BaseError as exc:
        raise failure(exc) from None
    finally:
        await client.close()
    price = ticker.get("last") or ticker.get("close") or ticker.get("bid")
    if not price:
        raise ProbeRefused("connection_failed", f"{exchange.name} reports no price for {symbol} "
                                                "now; try again when the market trades")
    return MarketRules.from_ccxt(market), Decimal(str(price))


def failure(exc: Exception) -> ProbeRefused:
    """Return the refusal of an account the exchange did not let the box use, saying why."""
    said = str(exc).replace("\n", " ")[:ERROR_SHOWN]
    if isinstance(exc, ccxt_async.AuthenticationError | ccxt_async.PermissionDenied):
        return ProbeRefused("connection_failed", f"the exchange refused the key ({said}); check "
                            "the API key and secret, and that the key is enabled")
    return ProbeRefused("connection_failed", f"the exchange did not answer as expected "
                        f"({type(exc).__name__}: {said}); check the address and try again")
