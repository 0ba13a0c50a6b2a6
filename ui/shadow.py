"""The quotes a pair would send, next to the market's book: what shadow mode shows.

A pair in shadow mode runs its strategy every cycle and logs the quotes it chose, with the
market's best bid and ask as it saw them, but sends nothing. The panel reads the latest such
entry from the bot's event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from appliance.datadir import DataDir
from appliance.store.database import StoreUnavailable, read_from
from appliance.store.events import EventKind, PriceSize, QuotesChosen, read_events

LOOKED_AT = 200
"""How many of a bot's latest quote entries are searched for the pair's."""


@dataclass(frozen=True)
class ShadowQuotes:
    """The latest quotes a pair chose, and the book they were chosen against."""

    ts: float
    mid: Decimal | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    bids: tuple[PriceSize, ...]
    asks: tuple[PriceSize, ...]

    def rows(self) -> list[dict[str, str]]:
        """Return the quotes and the book as table rows, asks on top, highest price first."""
        def row(side: str, price: Decimal | None, size: Decimal | None,
                what: str) -> dict[str, str]:
            return {"side": side, "price": "" if price is None else f"{price:f}",
                    "size": "" if size is None else f"{size:f}", "what": what}

        return [*(row("ask", p, s, "would quote") for p, s in reversed(self.asks)),
                row("ask", self.best_ask, None, "best ask on the exchange"),
                row("bid", self.best_bid, None, "best bid on the exchange"),
                *(row("bid", p, s, "would quote") for p, s in self.bids)]


def latest_quotes(data: DataDir, bot: str, symbol: str) -> ShadowQuotes | None:
    """Return the latest quotes bot chose for symbol; None before it chose any (or no log)."""
    path = data.events_db(bot)
    if not path.exists():
        return None
    try:
        events = read_from(path, lambda db: read_events(db, kinds=(EventKind.QUOTE,),
                                                        newest=LOOKED_AT))
    except StoreUnavailable:
        return None
    for event in reversed(events):
        body = event.body
        if event.symbol == symbol and isinstance(body, QuotesChosen):
            return ShadowQuotes(event.ts, body.mid, body.best_bid, body.best_ask, body.bids,
                                body.asks)
    return None
