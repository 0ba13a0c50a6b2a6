"""Check a signed request as Binance does: API key, signature, then timestamp window."""

from __future__ import annotations

import hashlib
import hmac

from appliance.exchanges.simulator import errors
from appliance.exchanges.simulator.accounts import Account, AccountStore
from appliance.exchanges.simulator.const import (
    DEFAULT_RECV_WINDOW_MS,
    MAX_CLOCK_AHEAD_MS,
    MAX_RECV_WINDOW_MS,
)
from appliance.exchanges.simulator.params import Params

API_KEY_HEADER = "X-MBX-APIKEY"
SIGNATURE = "signature"


def authenticate(
    store: AccountStore, api_key: str | None, params: Params, query: str, body: str, now_ms: int
) -> Account:
    """Return the account that signed a request, or refuse the request.

    `query` and `body` are the raw query string and form body exactly as received: the
    signature covers their concatenation without the `signature` parameter itself.
    """
    if not api_key:
        raise errors.bad_api_key_format()
    account = store.by_api_key(api_key)
    if account is None:
        raise errors.rejected_api_key()
    timestamp = params.integer("timestamp")
    recv_window = params.optional_integer("recvWindow")
    if recv_window is None:
        recv_window = DEFAULT_RECV_WINDOW_MS
    elif not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise errors.bad_recv_window(MAX_RECV_WINDOW_MS)
    if not signature_valid(account, signed_payload(query, body), params.text(SIGNATURE)):
        raise errors.invalid_signature()
    if timestamp >= now_ms + MAX_CLOCK_AHEAD_MS:
        raise errors.timestamp_ahead(MAX_CLOCK_AHEAD_MS)
    if now_ms - timestamp > recv_window:
        raise errors.outside_recv_window()
    return account


def signed_payload(query: str, body: str) -> bytes:
    """Return what the client signed: query string then body, each without the signature."""
    return (_without_signature(query) + _without_signature(body)).encode()


def signature_valid(account: Account, payload: bytes, signature: str) -> bool:
    """Return whether a hex HMAC-SHA256 signature of the payload matches the account's secret."""
    expected = hmac.new(account.secret_key.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def _without_signature(raw: str) -> str:
    """Return a raw query string or body without its signature parameter."""
    return "&".join(part for part in raw.split("&") if not part.startswith(f"{SIGNATURE}="))
