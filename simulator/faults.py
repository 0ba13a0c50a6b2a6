"""Faults a real exchange throws, injected on purpose: slow, failing and hanging requests,
rejected orders, dropped, stale and gapped websocket streams, a crossed book.

Every rate is a probability in [0, 1]: per REST request, per new order, per websocket
connection and second, or per depth update. Each kind of fault draws from its own generator
seeded from the run's seed, so the same run of requests meets the same faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from simulator import errors

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class FaultPlan(BaseModel):
    """Which faults one run injects, and how often."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(default=0, ge=0, le=60_000)
    """Added before every REST request is served."""
    latency_jitter_ms: int = Field(default=0, ge=0, le=60_000)
    """Up to this much more, at random."""
    server_error_rate: Probability = 0.0
    """A REST request answered 503; half of them after the request took effect."""
    timeout_rate: Probability = 0.0
    """A REST request left unanswered for `timeout_s`; half of them after it took effect."""
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    order_reject_rate: Probability = 0.0
    """A new order refused by the matching engine with -2010."""
    ws_drop_rate: Probability = 0.0
    """A websocket connection cut without a close frame, per connection and second."""
    ws_stale_rate: Probability = 0.0
    """A websocket connection that goes silent for `ws_stale_s`, per connection and second."""
    ws_stale_s: float = Field(default=5.0, gt=0, le=3600)
    depth_gap_rate: Probability = 0.0
    """A depth update not sent to one connection, leaving a gap in its update ids."""
    crossed_book_rate: Probability = 0.0
    """A depth update that shows a crossed level, taken back by the next update."""


class FaultKind(StrEnum):
    """The kinds of fault, each with its own random stream."""

    LATENCY = "latency"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    AFTER = "after"
    ORDER_REJECT = "order_reject"
    WS_DROP = "ws_drop"
    WS_STALE = "ws_stale"
    DEPTH_GAP = "depth_gap"
    CROSSED_BOOK = "crossed_book"


@dataclass(frozen=True)
class RestFault:
    """A fault chosen for one REST request: a 503 or a hang, before or after it takes effect."""

    kind: FaultKind
    after: bool


class FaultInjector:
    """The faults of a run: the plan in force and the seeded draws that decide each one."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._rngs = {kind: random.Random(f"{seed}:fault:{kind.value}") for kind in FaultKind}
        self._stopping = asyncio.Event()

    def happens(self, kind: FaultKind, rate: float) -> bool:
        """Draw whether a fault of this kind happens now."""
        return rate > 0 and self._rngs[kind].random() < rate

    def latency_s(self) -> float:
        """Return the delay to add to a REST request."""
        jitter = self.plan.latency_jitter_ms
        extra = self._rngs[FaultKind.LATENCY].randint(0, jitter) if jitter else 0
        return (self.plan.latency_ms + extra) / 1000

    def rest_fault(self) -> RestFault | None:
        """Choose the fault a REST request meets, if any."""
        for kind, rate in (
            (FaultKind.SERVER_ERROR, self.plan.server_error_rate),
            (FaultKind.TIMEOUT, self.plan.timeout_rate),
        ):
            if self.happens(kind, rate):
                return RestFault(kind, self._rngs[FaultKind.AFTER].random() < 0.5)
        return None

    def check_order(self) -> None:
        """Refuse a new order when the plan rejects it."""
        if self.happens(FaultKind.ORDER_REJECT, self.plan.order_reject_rate):
            raise errors.order_rejected("NEW_ORDER_REJECTED")

    async def fail(self, fault: RestFault) -> errors.BinanceError:
        """Return the error a faulty request ends with, after hanging if it times out."""
        if fault.kind is FaultKind.TIMEOUT:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.plan.timeout_s)
        if fault.after:
            return errors.BinanceError(
                -1007,
                "Timeout waiting for response from backend server. "
                "Send status unknown; execution status unknown.",
                503,
            )
        return errors.BinanceError(
            -1001, "Internal error; unable to process your request. Please try again.", 503
        )

    def stop(self) -> None:
        """Release every request held by a timeout fault."""
        self._stopping.set()
