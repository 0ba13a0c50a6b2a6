"""Check a signed request as Binance does: API key, signature, then timestamp window.

An HMAC key signs with a hex HMAC-SHA256 of the payload under its secret; an Ed25519 key
signs with a base64 Ed25519 signature that verifies under its registered public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature

from simulator import errors
from simulator.accounts import Account, AccountStore, ApiKey
from simulator.const import (
    DEFAULT_RECV_WINDOW_MS,
    MAX_CLOCK_AHEAD_MS,
    MAX_RECV_WINDOW_MS,
)
from simulator.params import Params

API_KEY_HEADER = "X-MBX-APIKEY"
SIGNATURE = "signature"


def api_key_of(store: AccountStore, api_key: str | None) -> ApiKey:
    """Return the API key a request names, or refuse a missing or unknown one."""
    if not api_key:
        raise errors.bad_api_key_format()
    key = store.by_api_key(api_key)
    if key is None:
        raise errors.rejected_api_key()
    return key


def authenticate(
    store: AccountStore, api_key: str | None, params: Params, query: str, body: str, now_ms: int
) -> Account:
    """Return the account that signed a REST request, or refuse the request.

    `query` and `body` are the raw query string and form body exactly as received: the
    signature covers their concatenation without the `signature` parameter itself.
    """
    key = api_key_of(store, api_key)
    timestamp = params.integer("timestamp")
    recv_window = params.optional_integer("recvWindow")
    signature = params.text(SIGNATURE)
    return _verified(
        store, key, signed_payload(query, body), signature, timestamp, recv_window, now_ms
    )


def authenticate_fields(store: AccountStore, fields: Mapping[str, object], now_ms: int) -> Account:
    """Return the account that signed a WebSocket API request's params, or refuse them.

    The payload is every param but the signature, sorted by name, as `name=value` joined by `&`.
    """
    params = Params([(name, _field_text(name, value)) for name, value in fields.items()])
    key = api_key_of(store, params.text("apiKey"))
    timestamp = params.integer("timestamp")
    recv_window = params.optional_integer("recvWindow")
    signature = params.text(SIGNATURE)
    params.check_all_read()
    payload = "&".join(
        f"{name}={_field_text(name, value)}"
        for name, value in sorted(fields.items())
        if name != SIGNATURE
    )
    return _verified(store, key, payload.encode(), signature, timestamp, recv_window, now_ms)


def signed_payload(query: str, body: str) -> bytes:
    """Return what the client signed: query string then body, each without the signature."""
    return (_without_signature(query) + _without_signature(body)).encode()


def signature_valid(key: ApiKey, payload: bytes, signature: str) -> bool:
    """Return whether a signature of the payload verifies under the API key."""
    if key.public_key is not None:
        try:
            key.public_key.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True
    assert key.secret is not None
    expected = hmac.new(key.secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def _verified(
    store: AccountStore,
    key: ApiKey,
    payload: bytes,
    signature: str,
    timestamp: int,
    recv_window: int | None,
    now_ms: int,
) -> Account:
    """Return the key's account once the signature and the timing pass, or refuse."""
    if recv_window is None:
        recv_window = DEFAULT_RECV_WINDOW_MS
    elif not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise errors.bad_recv_window(MAX_RECV_WINDOW_MS)
    if not signature_valid(key, payload, signature):
        raise errors.invalid_signature()
    if timestamp >= now_ms + MAX_CLOCK_AHEAD_MS:
        raise errors.timestamp_ahead(MAX_CLOCK_AHEAD_MS)
    if now_ms - timestamp > recv_window:
        raise errors.outside_recv_window()
    account = store.by_name(key.account)
    assert account is not None
    return account


def _field_text(name: str, value: object) -> str:
    """Return a JSON param as the text it is signed as, or refuse a value of no such form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise errors.BinanceError(-1100, f"Illegal characters found in parameter '{name}'.")


def _without_signature(raw: str) -> str:
    """Return a raw query string or body without its signature parameter."""
    return "&".join(part for part in raw.split("&") if not part.startswith(f"{SIGNATURE}="))
