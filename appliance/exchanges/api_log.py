"""Record every REST request a bot makes and what came back, for the panel to show.

One JSON line per request: time, method, path, HTTP status, the exchange's used request
weight, latency, and the error class when no answer came. Never the query string (it holds
the signature), a header (the API key) or a body.
"""

from __future__ import annotations

import json
import os
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appliance.exchanges.weight import used_weights

MAX_BYTES = 5 * 1024 * 1024
"""A log this large is rotated to `api.log.1` (one older file is kept)."""

_started: ContextVar[float] = ContextVar("api_request_started", default=0.0)
_answered: ContextVar[bool] = ContextVar("api_request_answered", default=False)


class ApiLog:
    """An append-only, size-bounded JSON-lines log of one bot's exchange requests."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def record(self, method: str, url: str, status: int | None, weight: int | None,
               error: str | None = None) -> None:
        """Append one request; the URL's query string never reaches the log."""
        line = json.dumps({
            "ts": round(time.time(), 3), "method": method, "path": urlsplit(url).path,
            "status": status, "weight": weight,
            "ms": round((time.perf_counter() - _started.get()) * 1000, 1), "error": error,
        }, separators=(",", ":"))
        if self.path.exists() and self.path.stat().st_size > self.max_bytes:
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


class ApiLogMixin:
    """Put before a ccxt exchange class: each REST request lands in `api_log`."""

    api_log: ApiLog | None = None

    async def fetch(self, url: str, method: str = "GET", headers: Any = None,
                    body: Any = None) -> Any:
        """Time the request and record it if no answer came back at all."""
        started, answered = _started.set(time.perf_counter()), _answered.set(False)
        try:
            return await super().fetch(url, method, headers, body)  # type: ignore[misc]
        except Exception as exc:
            if self.api_log is not None and not _answered.get():
                self.api_log.record(method, url, None, None, type(exc).__name__)
            raise
        finally:
            _started.reset(started)
            _answered.reset(answered)

    def on_rest_response(self, code: Any, reason: Any, url: str, method: str,
                         response_headers: Any, *rest: Any) -> Any:
        """Record the answer's status and the weight the exchange says is used."""
        _answered.set(True)
        if self.api_log is not None:
            used = used_weights(dict(response_headers or {}))
            weight = used[max(used)] if used else None  # the longest window's, as Binance's 1M
            self.api_log.record(method, url, int(code) if code else None, weight)
        return super().on_rest_response(  # type: ignore[misc]
            code, reason, url, method, response_headers, *rest)
