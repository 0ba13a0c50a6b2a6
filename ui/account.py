"""A bot's exchange accounts as the exchange reports them, beside the bot's own view: the
reconciliation the Account page and `GET /api/bots/{name}/account` show.

The panel never holds a key: it asks the supervisor, which asks the bot that owns the account.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ui.supervisor import Supervisor


class Balance(BaseModel):
    """One asset's balance as the exchange reports it."""

    total: str
    free: str
    used: str = Field(description="held in open orders")


class ExchangeOrder(BaseModel):
    """An open order as the exchange reports it."""

    id: str
    client_id: str
    side: str | None
    price: str
    amount: str
    filled: str


class BoxOrder(BaseModel):
    """An order the bot believes rests on the exchange."""

    client_id: str
    id: str
    side: str
    price: str
    amount: str = Field(description="what is left of it")


class ExchangeTrade(BaseModel):
    """One of the account's recent trades as the exchange reports it."""

    id: str
    order_id: str
    side: str | None
    price: str
    amount: str
    time: float


class BoxFill(BaseModel):
    """A fill the bot recorded."""

    trade_id: str
    client_id: str
    side: str
    price: str
    amount: str


class SymbolAccount(BaseModel):
    """One symbol's orders and trades on both sides, and what differs."""

    symbol: str
    exchange_orders: list[ExchangeOrder]
    box_orders: list[BoxOrder]
    exchange_trades: list[ExchangeTrade]
    box_fills: list[BoxFill]
    unknown_orders: list[str] = Field(
        description="client ids of open orders on the exchange the bot does not know")
    missing_orders: list[str] = Field(
        description="client ids of orders the bot believes rest that the exchange does not list")
    unrecorded_trades: list[str] = Field(
        description="ids of recent trades on the exchange with no fill in the bot's log, other "
                    "than those of orders being settled")
    settling: list[str] = Field(
        default_factory=list,
        description="client ids of the bot's orders the exchange filled since the bot's last "
                    "poll: it settles them at its next cycle, so they are no difference")

    @property
    def differs(self) -> bool:
        """Tell whether the exchange and the bot disagree."""
        return bool(self.unknown_orders or self.missing_orders or self.unrecorded_trades)


class ExchangeAccount(BaseModel):
    """One of the bot's exchange accounts."""

    exchange: str
    balances: dict[str, Balance]
    symbols: list[SymbolAccount]


class BotAccounts(BaseModel):
    """A bot's exchange accounts as read at `read_at`."""

    bot: str
    read_at: float
    accounts: list[ExchangeAccount]


async def read_accounts(supervisor: Supervisor, bot: str) -> BotAccounts:
    """Ask the bot, through the supervisor, for its accounts; IpcError when it cannot say."""
    answer: Any = await supervisor.ask("account_view", bot=bot)
    return BotAccounts.model_validate(answer)
