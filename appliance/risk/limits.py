"""The risk limits of a bot's symbols, validated every time they are loaded."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from appliance.risk.const import DEFAULT_TRIP_ACTIONS, TripAction, TripKind


class RejectBurst(BaseModel):
    """`count` rejects less than `window_s` seconds apart, first to last, trip the symbol."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1, le=10_000, description="rejects that trip")
    window_s: float = Field(gt=0, le=86_400, description="seconds they must fall within")


class RiskLimits(BaseModel):
    """Limits of one symbol, and of the total exposure of the bot it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_position: Decimal = Field(
        gt=0, le=Decimal("1e15"), description="largest long or short position, in the base asset")
    max_total_exposure: Decimal = Field(
        gt=0, le=Decimal("1e15"),
        description="largest sum over the bot's symbols of |position| * price, in the quote asset")
    max_drawdown: Decimal = Field(
        gt=0, le=Decimal("1e15"),
        description="largest fall of equity below its peak, in the quote asset")
    max_orders_per_second: int = Field(default=5, ge=1, le=1000)
    max_orders_per_day: int = Field(default=50_000, ge=1, le=10_000_000,
                                    description="orders per UTC day")
    order_rate_trip_excess: int = Field(
        default=10, ge=1, le=10_000,
        description="orders asked for beyond a rate limit, within its window, that trip")
    reject_storm: RejectBurst = Field(default=RejectBurst(count=10, window_s=10),
                                      description="rejects of any kind that trip")
    insufficient_balance: RejectBurst = Field(
        default=RejectBurst(count=3, window_s=60),
        description="insufficient-balance rejects that trip")
    trip_actions: dict[TripKind, TripAction] = Field(
        default_factory=lambda: dict(DEFAULT_TRIP_ACTIONS),
        description="pause or halt, per trip kind; kinds left out keep their default")

    @field_validator("trip_actions")
    @classmethod
    def _fill_default_actions(
        cls, actions: dict[TripKind, TripAction]
    ) -> dict[TripKind, TripAction]:
        return {**DEFAULT_TRIP_ACTIONS, **actions}
