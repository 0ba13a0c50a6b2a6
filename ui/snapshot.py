"""What the panel shows of the box, read from its stores into plain dataclasses.

The dashboard and the REST API both render these: one reader, two views.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from appliance.datadir import DataDir
from appliance.ledger import OpenOrder, Position
from appliance.risk.const import SymbolState, TripKind
from appliance.store.appliance_db import Bot, Pair, ProcessStatus, bots, pairs, processes, settings
from appliance.store.database import StoreUnavailable, read_from
from appliance.store.events import Event, OrderFilled
from appliance.store.verify import ChainWatch, Verdict
from appliance.vocabulary import Side
from ui.api_log import ApiLogTail, ApiLogView
from ui.const import RECENT_REQUESTS, STATE_UNKNOWN, LogState
from ui.ledger_tail import LedgerTail, SymbolStatus


class UnknownBot(LookupError):
    """The box has no bot of that name."""


@dataclass(frozen=True)
class PairView:
    """One market a bot quotes, its trading state, why and since when, and its latest trip."""

    symbol: str
    exchange: str
    strategy: str
    shadow: bool
    state: SymbolState
    reason: str
    since: float | None
    trip: TripKind | None


@dataclass(frozen=True)
class PositionView:
    """A symbol's inventory and PnL in its quote asset; mark and unrealized are None unquoted."""

    symbol: str
    base: Decimal
    average_cost: Decimal
    mark: Decimal | None
    realized: Decimal
    unrealized: Decimal | None
    fees: Decimal
    volume: Decimal
    fills: int


@dataclass(frozen=True)
class OrderView:
    """An order of the bot still resting on its exchange."""

    client_id: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    filled: Decimal


@dataclass(frozen=True)
class FillView:
    """One of the bot's trades."""

    seq: int
    ts: float
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str


@dataclass(frozen=True)
class BotSnapshot:
    """Everything the panel shows of one bot."""

    name: str
    enabled: bool
    state: str
    detail: str
    pid: int | None
    restarts: int
    since: float | None
    pairs: tuple[PairView, ...]
    events: LogState
    events_detail: str
    chain: Verdict | None
    """Whether the event log's chain verifies so far; None while the log is not read."""
    positions: tuple[PositionView, ...]
    open_orders: tuple[OrderView, ...]
    recent_fills: tuple[FillView, ...]
    requests: ApiLogView


@dataclass(frozen=True)
class BoxSnapshot:
    """The box's locked asset and its bots, in name order."""

    asset: str
    bots: tuple[BotSnapshot, ...]


@dataclass(frozen=True)
class BoxHealth:
    """The locked asset and every bot's process state, from appliance.db alone."""

    asset: str
    states: dict[str, str]


@dataclass(frozen=True)
class BoxConfig:
    """What the supervisor recorded in appliance.db."""

    asset: str
    bots: list[Bot]
    pairs: list[Pair]
    processes: dict[str, ProcessStatus]

    def state_of(self, bot: str) -> str:
        """Return a bot's process state as the supervisor last recorded it."""
        status = self.processes.get(bot)
        return status.state if status else STATE_UNKNOWN


def read_config(path: Path) -> BoxConfig:
    """Read appliance.db, or raise StoreUnavailable saying why it cannot be read."""
    return read_from(path, lambda db: BoxConfig(settings(db).get("asset", ""), bots(db),
                                                pairs(db), processes(db)))


class BoxReader:
    """Read the box's configuration and follow every bot's event log and API log."""

    def __init__(self, datadir: DataDir) -> None:
        self._datadir = datadir
        self._tails: dict[str, LedgerTail] = {}
        self._api_tails: dict[str, ApiLogTail] = {}
        self._chains: dict[str, ChainWatch] = {}

    def health(self) -> BoxHealth:
        """Return the asset and the bots' states; raise StoreUnavailable if appliance.db fails."""
        config = read_config(self._datadir.appliance_db)
        return BoxHealth(config.asset, {bot.name: config.state_of(bot.name) for bot in config.bots})

    def snapshot(self) -> BoxSnapshot:
        """Fold in new events and return the box as it stands now."""
        config = read_config(self._datadir.appliance_db)
        now = time.time()
        return BoxSnapshot(config.asset, tuple(self._bot(config, bot, now) for bot in config.bots))

    def requests(self, bot: str, limit: int) -> ApiLogView:
        """Return a bot's newest exchange requests; raise UnknownBot or StoreUnavailable."""
        config = read_config(self._datadir.appliance_db)
        if bot not in {known.name for known in config.bots}:
            raise UnknownBot(f"there is no bot named '{bot}'")
        return self._api_tail(bot).read(limit, time.time())

    def _tail(self, bot: str) -> LedgerTail:
        """Return the tail that follows a bot's log, starting one on first use."""
        if bot not in self._tails:
            self._tails[bot] = LedgerTail(self._datadir.events_db(bot))
        return self._tails[bot]

    def _api_tail(self, bot: str) -> ApiLogTail:
        """Return the tail that follows a bot's API log, starting one on first use."""
        if bot not in self._api_tails:
            self._api_tails[bot] = ApiLogTail(self._datadir.api_log(bot))
        return self._api_tails[bot]

    def _chain(self, bot: str) -> Verdict:
        """Verify a bot's log as far as it grew since the last look; the first look is a full
        verify."""
        watch = self._chains.setdefault(bot, ChainWatch(self._datadir.events_db(bot)))
        try:
            return watch.check()
        except StoreUnavailable as exc:
            return Verdict(False, 0, reason=f"the chain cannot be checked: {exc}")

    def _bot(self, config: BoxConfig, bot: Bot, now: float) -> BotSnapshot:
        """Return one bot's snapshot."""
        tail = self._tail(bot.name)
        log_state, log_detail = follow(tail)
        status = config.processes.get(bot.name)
        bot_pairs = tuple(
            pair_view(p, tail.status(p.symbol)) for p in config.pairs if p.bot == bot.name
        )
        read = log_state is LogState.READ
        return BotSnapshot(
            name=bot.name,
            enabled=bot.enabled,
            state=config.state_of(bot.name),
            detail=status.detail if status else "",
            pid=status.pid if status else None,
            restarts=status.restarts if status else 0,
            since=status.since if status else None,
            pairs=bot_pairs,
            events=log_state,
            events_detail=log_detail,
            chain=self._chain(bot.name) if read else None,
            positions=position_views(bot_pairs, tail) if read else (),
            open_orders=tuple(order_view(o) for o in tail.open_orders) if read else (),
            recent_fills=tuple(fill_view(e, f) for e, f in tail.recent_fills) if read else (),
            requests=self._api_tail(bot.name).read(RECENT_REQUESTS, now),
        )


def follow(tail: LedgerTail) -> tuple[LogState, str]:
    """Catch a tail up and say how that went."""
    try:
        if not tail.catch_up():
            return LogState.MISSING, "no events yet"
    except StoreUnavailable as exc:
        return LogState.UNREADABLE, str(exc)
    return LogState.READ, ""


def pair_view(pair: Pair, status: SymbolStatus) -> PairView:
    """Return a configured pair with the trading state its bot last recorded."""
    return PairView(
        symbol=pair.symbol,
        exchange=pair.exchange,
        strategy=pair.strategy,
        shadow=pair.shadow,
        state=status.state,
        reason=status.reason,
        since=status.since,
        trip=status.trip,
    )


def position_views(pairs: tuple[PairView, ...], tail: LedgerTail) -> tuple[PositionView, ...]:
    """Return one position per quoted symbol, then any other symbol the bot traded."""
    symbols = dict.fromkeys([pair.symbol for pair in pairs] + list(tail.positions))
    return tuple(
        position_view(tail.positions.get(symbol) or Position(symbol), tail.marks.get(symbol))
        for symbol in symbols
    )


def position_view(position: Position, mark: Decimal | None) -> PositionView:
    """Return a position valued at a mark (unvalued without one)."""
    return PositionView(
        symbol=position.symbol,
        base=position.base,
        average_cost=position.average_cost,
        mark=mark,
        realized=position.realized,
        unrealized=None if mark is None else position.unrealized(mark),
        fees=position.fees,
        volume=position.volume,
        fills=position.fills,
    )


def order_view(order: OpenOrder) -> OrderView:
    """Return an open order as the panel shows it."""
    return OrderView(
        order.client_id, order.symbol, order.side, order.price, order.amount, order.filled
    )


def fill_view(event: Event, fill: OrderFilled) -> FillView:
    """Return a fill event as the panel shows it."""
    return FillView(
        seq=event.seq,
        ts=event.ts,
        symbol=event.symbol,
        side=fill.side,
        price=fill.price,
        amount=fill.amount,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
    )
