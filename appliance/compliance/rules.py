"""The market-integrity rules a bot's orders are held to, validated every time they are loaded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ComplianceRules(BaseModel):
    """How long an order rests before it is replaced, and how many orders a fill may cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rest_s: float = Field(
        default=1.0, ge=0, le=3600,
        description="seconds an order rests before it may be cancelled to be replaced")
    max_order_to_trade: int = Field(
        default=100, ge=1, le=100_000,
        description="orders sent per fill in a UTC day; the first this many need no fill")
