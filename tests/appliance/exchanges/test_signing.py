"""ccxt's signatures, routed to a signer, come out byte-identical and in ccxt's format."""

from __future__ import annotations

import hashlib
import hmac

import ccxt
import pytest

from appliance.exchanges.signing import SignerMixin, UnsupportedSigning

SECRET = b"k" * 64


class KeyedSigner:
    """A signer holding one HMAC key under one label, as the token does."""

    def __init__(self) -> None:
        self.labels: list[str] = []

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        self.labels.append(label)
        return hmac.new(SECRET, message, hashlib.sha256).digest()


class SignedBinance(SignerMixin, ccxt.binance):  # type: ignore[misc]
    """binance with signing routed to the signer."""


@pytest.mark.parametrize("digest", ["hex", "base64", "binary"])
def test_signature_equals_ccxts_own(digest: str) -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": "bot-1.sim.hmac"})
    exchange.signer = KeyedSigner()
    message = b"symbol=MTSUSDT&side=BUY&timestamp=1"
    ours = exchange.hmac(message, b"bot-1.sim.hmac", hashlib.sha256, digest)
    assert ours == ccxt.Exchange.hmac(message, SECRET, hashlib.sha256, digest)
    assert exchange.signer.labels == ["bot-1.sim.hmac"]


def test_a_signed_request_carries_the_token_signature_not_the_label() -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": "bot-1.sim.hmac"})
    exchange.signer = KeyedSigner()
    signed = exchange.sign("account", ["private"], "GET", {"timestamp": 1})
    query = signed["url"].split("?", 1)[1]
    payload, signature = query.rsplit("&signature=", 1)
    assert signature == hmac.new(SECRET, payload.encode(), hashlib.sha256).hexdigest()
    assert "bot-1.sim.hmac" not in signed["url"]


def test_other_hash_is_refused_with_advice() -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": "x"})
    exchange.signer = KeyedSigner()
    with pytest.raises(UnsupportedSigning, match="HMAC-SHA256 only"):
        exchange.hmac(b"m", b"x", hashlib.sha512)
