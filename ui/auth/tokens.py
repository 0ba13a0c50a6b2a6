"""API tokens: `Authorization: Bearer mmb_<id>_<secret>`, kept by the box only as a hash.

An owner creates one from a session; its text is shown once and never again. appliance.db holds
its id, name, scope, expiry and the SHA-256 of its whole text, so a copy of the database lets
nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from appliance.store.access import ApiToken

PREFIX = "mmb"
TOKEN_SHAPE = re.compile(r"mmb_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
"""The prefix, a 12-hex-digit public id and 32 random bytes in URL-safe base64."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: its id, its text (to show once) and the hash the box keeps."""

    id: str
    text: str = field(repr=False)
    hash: str


def new_token() -> NewToken:
    """Return a fresh token."""
    token_id = secrets.token_hex(6)
    text = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    return NewToken(token_id, text, token_hash(text))


def token_hash(text: str) -> str:
    """Return the hex SHA-256 the box keeps of a token's text."""
    return hashlib.sha256(text.encode()).hexdigest()


def token_id(text: str) -> str | None:
    """Return the id a token's text carries, or None when it is not shaped like a token."""
    match = TOKEN_SHAPE.fullmatch(text)
    return match.group(1) if match else None


def token_matches(text: str, stored: ApiToken, now: float) -> bool:
    """Return whether `text` is the stored token, not revoked and not expired at `now`."""
    if stored.revoked is not None or now >= stored.expires:
        return False
    return hmac.compare_digest(token_hash(text), stored.hash)
