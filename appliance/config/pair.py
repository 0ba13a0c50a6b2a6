"""A pair's settings as one model: strategy and its parameters, order keeping, integrity, shadow.

The same model validates what the owner sends, gives the form and the API their schema and
defaults, and is what a running worker takes at its next cycle. A bad value names its field
and the allowed range, and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.compliance.rules import ComplianceRules
from appliance.orders.plan import Tolerance
from appliance.store.appliance_db import Pair
from appliance.strategies.grid import GridParams
from appliance.strategies.ladder import LadderParams
from appliance.strategies.spread import SpreadParams


class SpreadStrategy(BaseModel):
    """One bid and one ask around mid, skewed against inventory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["spread"] = "spread"
    params: SpreadParams


class LadderStrategy(BaseModel):
    """Several levels each side, sized by seed 001's ratios."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["ladder"] = "ladder"
    params: LadderParams


class GridStrategy(BaseModel):
    """A grid of resting orders that ping-pongs each fill one step away."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["grid"] = "grid"
    params: GridParams


StrategyChoice = Annotated[SpreadStrategy | LadderStrategy | GridStrategy,
                           Field(discriminator="kind")]


class PairSettings(BaseModel):
    """Everything the owner sets for one pair of one bot."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: StrategyChoice
    tolerance: Tolerance = Field(default_factory=Tolerance,
                                 description="how far a resting order may drift and be kept")
    integrity: ComplianceRules = Field(default_factory=ComplianceRules,
                                       description="minimum rest and order-to-trade cap")
    shadow: bool = Field(default=False,
                         description="decide and record quotes, but send no order")


class SettingsError(ValueError):
    """Settings that cannot be taken; the message names each bad field and its allowed range."""


def pair_settings(raw: Any) -> PairSettings:
    """Return `raw` as pair settings, or raise SettingsError naming each bad field."""
    try:
        return PairSettings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(problems(exc)) from None


def settings_of(pair: Pair) -> PairSettings:
    """Return the settings a stored pair holds, or raise SettingsError."""
    return pair_settings({"strategy": {"kind": pair.strategy, "params": pair.params},
                          "tolerance": pair.tolerance, "integrity": pair.integrity,
                          "shadow": pair.shadow})


def pair_of(bot: str, exchange: str, symbol: str, settings: PairSettings) -> Pair:
    """Return the stored form of a pair with these settings."""
    return Pair(bot, exchange, symbol, settings.strategy.kind,
                settings.strategy.params.model_dump(mode="json"), settings.shadow,
                settings.tolerance.model_dump(mode="json"),
                settings.integrity.model_dump(mode="json"))


def problems(exc: ValidationError, whole: str = "settings") -> str:
    """Return a validation error as 'field.path: what is wrong' clauses, joined by '; '.

    An error about the value as a whole is named `whole`.
    """
    return "; ".join(f"{'.'.join(str(part) for part in error['loc']) or whole}: "
                     f"{error['msg']}" for error in exc.errors(include_url=False))
