"""The exchange as one symbol's orders see it: a few calls, each answering plain data.

The order manager and the worker reach the exchange only through a `Venue`, so that every
answer the decisions depend on passes one narrow door: the recorder writes each answer down
there, and a replay answers from the record through the same door. `CcxtVenue` is the live
one: ccxt's async client (and ccxt.pro's account stream where the exchange has one), with the
account's order budget taken before every new order, speaking the exchange's own parameters
as its capability table declares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import ccxt.async_support as ccxt_async

from appliance.exchanges.capabilities import capabilities_of
from appliance.pacing.token_bucket import TokenBucket
from appliance.vocabulary import Side

BOOK_DEPTH = 20
"""Levels of each side the worker reads; deeper levels do not change a quote."""


NEEDED = ("client_order_id.lookup_param", "trade_paging.ascending_ids")
"""What settlement needs of an exchange: orders looked up by client id, fills in id order."""


class BudgetSpent(ccxt_async.OperationFailed):  # type: ignore[misc]
    """The account's request budget has nothing left now: the request was not sent."""


class ClientIdUnfit(ccxt_async.InvalidOrder):  # type: ignore[misc]
    """The exchange would refuse the order's client order id: the order was not sent."""


@dataclass(frozen=True)
class StreamState:
    """What the account stream holds: whether it can be trusted, its fills and order states."""

    live: bool
    epoch: int
    fills: list[dict[str, Any]]
    orders: dict[str, str]
    """The latest status the stream brought of each order, by exchange order id."""


class Venue(Protocol):
    """One symbol's door to the exchange; every method answers JSON-able data or raises ccxt's."""

    async def budget(self, now: float) -> int:
        """Return how many new orders the account's budget lets go now."""

    async def book(self) -> dict[str, Any]:
        """Return the top of the order book: `bids`, `asks` ([price, amount]) and `nonce`."""

    async def balances(self) -> dict[str, float]:
        """Return the account's total balance of every asset."""

    async def open_orders(self) -> list[dict[str, Any]]:
        """Return the symbol's open orders: `id` and `clientOrderId` of each."""

    async def trades(self, after: int) -> list[dict[str, Any]]:
        """Return the account's trades of the symbol with an id above `after`, as `fill`s."""

    async def order(self, order_id: str | None, client_id: str) -> dict[str, Any]:
        """Return one order's `id` and `status`, looked up by client order id."""

    async def create(self, now: float, side: Side, amount: str, price: str,
                     client_id: str) -> dict[str, Any]:
        """Send a post-only limit order; return its exchange `id`."""

    async def cancel(self, order_id: str) -> None:
        """Cancel one order."""

    async def stream(self) -> StreamState | None:
        """Return the account stream's state, or None where the exchange has no stream."""


def fill(trade: dict[str, Any]) -> dict[str, Any]:
    """Return the parts of a ccxt trade that make a fill."""
    fee = trade.get("fee") or {}
    return {"id": str(trade["id"]), "order": str(trade["order"]), "side": trade["side"],
            "price": trade["price"], "amount": trade["amount"],
            "fee": fee.get("cost") or 0, "fee_asset": fee.get("currency")}


class AccountStream(Protocol):
    """The account's user data stream, as `appliance.bot.account_feed.AccountFeed` keeps it."""

    live: bool
    epoch: int

    def fills(self) -> list[dict[str, Any]]:
        """Return the symbol's fills the stream brought, oldest first."""

    def orders(self) -> dict[str, dict[str, Any]]:
        """Return the latest state of each of the symbol's orders, by id."""


class CcxtVenue:
    """The live venue: a ccxt async client for one symbol, within the account's budget."""

    def __init__(self, client: Any, symbol: str, budget: TokenBucket) -> None:
        self.symbol = symbol
        self.account: AccountStream | None = None
        """The account's user data stream, where the exchange has one; else REST is polled."""
        self._client = client
        self._budget = budget
        self._capabilities = capabilities_of(str(client.id), *NEEDED)

    async def budget(self, now: float) -> int:
        """Return how many new orders the account's budget lets go now."""
        return self._budget.available(now)

    async def book(self) -> dict[str, Any]:
        """Return the top of the order book."""
        book = await self._client.fetch_order_book(self.symbol, limit=BOOK_DEPTH)
        return top_of(book)

    async def balances(self) -> dict[str, float]:
        """Return the account's total balance of every asset."""
        balance = await self._client.fetch_balance()
        return {asset: total for asset, total in (balance.get("total") or {}).items()
                if total is not None}

    async def open_orders(self) -> list[dict[str, Any]]:
        """Return the symbol's open orders."""
        orders = await self._client.fetch_open_orders(self.symbol)
        return [{"id": str(o["id"]), "clientOrderId": o.get("clientOrderId") or ""}
                for o in orders]

    async def trades(self, after: int) -> list[dict[str, Any]]:
        """Return the account's trades of the symbol with an id above `after`, oldest first.

        Where the exchange pages by trade id the page starts after `after`; elsewhere it is
        the newest page ccxt asks for, which holds every fill since the last poll as long as
        fewer than a page's worth came in between.
        """
        params = self._capabilities.trade_params(after)
        trades = await self._client.fetch_my_trades(self.symbol, params=params)
        return sorted((fill(t) for t in trades if int(t["id"]) > after),
                      key=lambda t: int(t["id"]))

    async def order(self, order_id: str | None, client_id: str) -> dict[str, Any]:
        """Return one order's id and status, looked up by client order id."""
        found = await self._client.fetch_order(order_id or "", self.symbol,
                                               self._capabilities.lookup_params(client_id))
        return {"id": str(found["id"]), "status": found.get("status")}

    async def create(self, now: float, side: Side, amount: str, price: str,
                     client_id: str) -> dict[str, Any]:
        """Send a post-only limit order, asking the exchange to prevent self-trades."""
        field = self._capabilities.client_order_id
        if not field.fits(client_id):
            raise ClientIdUnfit(f"{self.symbol}: client order id '{client_id}' does not fit "
                                f"{self._client.id}'s {field.rule()}; the order was not sent")
        self._spend(now)
        placed = await self._client.create_order(
            self.symbol, "limit", side.value, amount, price,
            self._capabilities.order_params(client_id))
        return {"id": str(placed["id"])}

    async def cancel(self, order_id: str) -> None:
        """Cancel one order (cancels take nothing from the budget: pulling quotes always may)."""
        await self._client.cancel_order(order_id, self.symbol)

    async def stream(self) -> StreamState | None:
        """Return the account stream's state, or None where the exchange has no stream."""
        account = self.account
        if account is None:
            return None
        return StreamState(account.live, account.epoch, [fill(t) for t in account.fills()],
                           {str(i): str(o.get("status")) for i, o in account.orders().items()})

    def _spend(self, now: float) -> None:
        if not self._budget.take(now):
            raise BudgetSpent(f"{self.symbol}: the account's request budget is spent for now")


def top_of(book: Any) -> dict[str, Any]:
    """Return the top `BOOK_DEPTH` levels of a ccxt order book, as the worker reads them."""
    return {"bids": [[price, amount] for price, amount, *_ in book["bids"][:BOOK_DEPTH]],
            "asks": [[price, amount] for price, amount, *_ in book["asks"][:BOOK_DEPTH]],
            "nonce": book.get("nonce")}
