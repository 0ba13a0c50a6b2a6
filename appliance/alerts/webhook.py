"""The generic webhook: each alert POSTed as JSON, its body signed with HMAC-SHA256.

The receiver checks `X-MMBox-Signature: sha256=<hex>` against the HMAC of the raw body under
the key the owner gave both sides, and may drop repeats by the alert's `id`. Only the URL's
scheme, host and port ever reach the log: its path or user part may hold a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from appliance.alerts.alert import Alert
from appliance.alerts.const import SIGNATURE_HEADER, WEBHOOK_SECRET_LABEL, Timing
from appliance.alerts.credentials import Credentials
from appliance.alerts.delivery import ChannelDown, Outbox, Undeliverable
from appliance.pacing.backoff import Backoff
from appliance.pacing.token_bucket import TokenBucket

TIMEOUT_S = 10.0
RETRY_STATUSES = frozenset({408, 425, 429})
"""Answers besides 5xx that mean "later", not "never"."""


@dataclass(frozen=True)
class Posting:
    """One alert's body, bound for one URL."""

    url: str
    body: bytes
    alert_id: str


def signature(key: bytes, body: bytes) -> str:
    """Return the signature header's value for a body."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def origin(url: str) -> str:
    """Return a URL's scheme, host and port: what may be logged of it."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


class WebhookChannel:
    """POST alerts to the owner's URL, in order, retried while the receiver is down."""

    def __init__(self, credentials: Credentials, timing: Timing) -> None:
        self._credentials = credentials
        self._client = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
        self.outbox: Outbox[Posting] = Outbox(
            "webhook", self._deliver, Backoff(timing.retry_first_s, timing.retry_cap_s),
            TokenBucket(timing.webhook_burst, timing.webhook_per_s, time.monotonic()))

    def send(self, alert: Alert, url: str) -> None:
        """Queue an alert for the URL."""
        body = json.dumps(alert.as_json(), sort_keys=True, separators=(",", ":")).encode()
        self.outbox.put(Posting(url, body, alert.id))

    async def _deliver(self, posting: Posting) -> None:
        key = self._credentials.get(WEBHOOK_SECRET_LABEL)
        if key is None:
            raise ChannelDown(f"waiting for the webhook key {WEBHOOK_SECRET_LABEL} in the token")
        where = origin(posting.url)
        headers = {"Content-Type": "application/json", "User-Agent": "MMBox-alerts",
                   SIGNATURE_HEADER: signature(key.encode(), posting.body)}
        try:
            answer = await self._client.post(posting.url, content=posting.body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelDown(f"{where} cannot be reached ({type(exc).__name__})") from None
        status = answer.status_code
        if 200 <= status < 300:
            return
        if status >= 500 or status in RETRY_STATUSES:
            raise ChannelDown(f"{where} answered {status}", _retry_after(answer))
        raise Undeliverable(f"{where} refused alert {posting.alert_id} with {status}; check "
                            "the receiver and the URL")

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _retry_after(answer: httpx.Response) -> float:
    """Return the wait a Retry-After header asks for, in seconds (0 without one)."""
    try:
        return max(0.0, float(answer.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0
