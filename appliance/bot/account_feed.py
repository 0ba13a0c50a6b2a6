"""The account's order updates and fills over the exchange's user data stream.

ccxt.pro keeps every order update and fill the stream brings in its caches (`orders`,
`myTrades`), also those that arrive while no one awaits the stream; the worker reads them
there at each cycle instead of polling open orders and trades. The stream can be trusted only
while it has been up without a break since the worker last settled with the exchange over
REST: every failure bumps the feed's `epoch` and clears `live` until the stream delivers
again, and the worker settles over REST once more before it relies on the stream alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from appliance.bot.feed import FIRST_RETRY_S, MAX_RETRY_S, follow
from appliance.pacing.backoff import Backoff


def streams_account(client: Any) -> bool:
    """Return whether `client` can stream the account's orders and fills (ccxt.pro)."""
    has = getattr(client, "has", {})
    return bool(has.get("watchOrders") and has.get("watchMyTrades"))


class AccountFeed:
    """Keep one symbol's user data stream subscribed, and say whether it broke, until cancelled."""

    def __init__(self, client: Any, symbol: str) -> None:
        self.symbol = symbol
        self.epoch = 0
        """How many times the stream failed: updates may have been missed at each."""
        self.live = False
        """Whether the stream delivered since its last failure (so it is subscribed)."""
        self.order_backoff = Backoff(FIRST_RETRY_S, MAX_RETRY_S)
        self.fill_backoff = Backoff(FIRST_RETRY_S, MAX_RETRY_S)
        self._client = client

    async def run(self) -> None:
        """Follow the symbol's order updates and fills until cancelled."""
        await asyncio.gather(
            follow(f"{self.symbol} orders", self._watch_orders, self._delivered,
                   self.order_backoff, self._lost),
            follow(f"{self.symbol} fills", self._watch_fills, self._delivered,
                   self.fill_backoff, self._lost),
        )

    def fills(self) -> list[dict[str, Any]]:
        """Return the symbol's fills the stream brought (the newest ccxt keeps), oldest first."""
        fills = [t for t in self._client.myTrades or [] if t.get("symbol") == self.symbol]
        return sorted(fills, key=lambda t: int(t["id"]))

    def orders(self) -> dict[str, dict[str, Any]]:
        """Return the latest state the stream brought of each of the symbol's orders, by id."""
        return {str(o["id"]): o for o in self._client.orders or []
                if o.get("symbol") == self.symbol}

    async def _watch_orders(self) -> Any:
        return await self._client.watch_orders(self.symbol)

    async def _watch_fills(self) -> Any:
        return await self._client.watch_my_trades(self.symbol)

    def _delivered(self, _update: Any) -> None:
        self.live = True

    def _lost(self) -> None:
        self.epoch += 1
        self.live = False
