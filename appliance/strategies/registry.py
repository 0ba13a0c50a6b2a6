"""Every strategy by name, built from its parameters and driven the same way by the bot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from appliance.market.rules import MarketRules
from appliance.market.view import MarketView
from appliance.strategies.grid import Grid, GridParams
from appliance.strategies.holdings import Holdings
from appliance.strategies.ladder import LadderParams, ladder_quotes
from appliance.strategies.spread import SpreadParams, spread_quotes
from appliance.vocabulary import Quote, Side

P = TypeVar("P", bound=BaseModel)


class StrategyConfigError(Exception):
    """A pair names a strategy that does not exist, or gives it parameters it cannot use."""


class Strategy(Protocol):
    """What the bot drives: desired quotes each cycle, and every fill of the pair."""

    def quotes(self, view: MarketView, holdings: Holdings, rules: MarketRules) -> list[Quote]:
        """Return the quotes that should rest now."""

    def on_fill(self, side: Side, price_ticks: int, lots: int) -> None:
        """Take note of a fill of one of the box's orders."""


class Stateless(Generic[P]):
    """A strategy that is a pure function of the market, the holdings and its parameters."""

    def __init__(
        self, decide: Callable[[MarketView, Holdings, P, MarketRules], list[Quote]], params: P
    ) -> None:
        self.decide = decide
        self.params = params

    def quotes(self, view: MarketView, holdings: Holdings, rules: MarketRules) -> list[Quote]:
        """Return the quotes the function decides on."""
        return self.decide(view, holdings, self.params, rules)

    def on_fill(self, side: Side, price_ticks: int, lots: int) -> None:
        """Ignore the fill: the holdings already carry its effect."""


def _spread_on_position(
    view: MarketView, holdings: Holdings, params: SpreadParams, rules: MarketRules
) -> list[Quote]:
    """Return spread's quotes, skewed against the position the bot has traded."""
    return spread_quotes(view, holdings.position, params, rules)


STRATEGIES: dict[str, tuple[type[BaseModel], Callable[[Any], Strategy]]] = {
    "spread": (SpreadParams, lambda params: Stateless(_spread_on_position, params)),
    "ladder": (LadderParams, lambda params: Stateless(ladder_quotes, params)),
    "grid": (GridParams, Grid),
}


def build_strategy(name: str, params: dict[str, Any]) -> Strategy:
    """Return the strategy `name` set up with `params`, or say what to fix."""
    if name not in STRATEGIES:
        raise StrategyConfigError(
            f"unknown strategy {name!r}; choose one of: {', '.join(sorted(STRATEGIES))}")
    model, build = STRATEGIES[name]
    try:
        validated = model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(_explain(model, error) for error in exc.errors())
        raise StrategyConfigError(f"strategy {name!r}: {problems}") from None
    return build(validated)


def _explain(model: type[BaseModel], error: ErrorDetails) -> str:
    """Return one validation error as the field, what is wrong, and what the field allows."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return message
    field = str(error["loc"][0])
    if error["type"] == "extra_forbidden":
        return f"{field} is not a parameter; the parameters are {', '.join(model.model_fields)}"
    if error["type"] == "missing":
        return f"{field} is required ({model.model_fields[field].description})"
    allowed = _allowed_range(model, field)
    explained = f"{field}: {message} (got {error['input']!r})"
    return f"{explained}; allowed: {allowed}" if allowed else explained


def _allowed_range(model: type[BaseModel], field: str) -> str:
    """Return a field's bounds as `low <= field <= high`, or '' when it has none."""
    low = high = ""
    for bound in model.model_fields[field].metadata:
        if isinstance(bound, Ge):
            low = f"{bound.ge} <= "
        elif isinstance(bound, Gt):
            low = f"{bound.gt} < "
        elif isinstance(bound, Le):
            high = f" <= {bound.le}"
        elif isinstance(bound, Lt):
            high = f" < {bound.lt}"
    return f"{low}{field}{high}" if low or high else ""
