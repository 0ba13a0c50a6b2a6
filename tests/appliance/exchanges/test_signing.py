"""ccxt's signatures, routed to a signer, come out byte-identical and in ccxt's format."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import ccxt
import ccxt.pro as ccxt_pro
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.exchanges.signing import (
    SignerMixin,
    SignerUnavailable,
    UnsupportedSigning,
    ccxt_secret,
)
from appliance.exchanges.venue import point_at_simulator
from hsm.client import SignerClient, SignerError
from tests.appliance.bot.conftest import post
from tests.conftest import RunningSimulator

SECRET = b"k" * 64
ED_KEY = Ed25519PrivateKey.from_private_bytes(b"e" * 32)
ED_LABEL = "bot-1.sim.ed25519"


class KeyedSigner:
    """A signer holding one HMAC key under one label, as the token does."""

    def __init__(self) -> None:
        self.labels: list[str] = []

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        self.labels.append(label)
        return hmac.new(SECRET, message, hashlib.sha256).digest()

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        self.labels.append(label)
        return ED_KEY.sign(message)


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


class SignedBinancePro(SignerMixin, ccxt_pro.binance):  # type: ignore[misc]
    """ccxt.pro binance with signing routed to the signer."""


@pytest.mark.parametrize("url_encode", [False, True])
def test_ed25519_signature_equals_ccxts_own(url_encode: bool) -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": ccxt_secret(ED_LABEL, "ed25519")})
    exchange.signer = KeyedSigner()
    message = b"symbol=MTSUSDT&side=BUY&timestamp=1"
    ours = exchange.eddsa(message, exchange.secret, "ed25519", url_encode)
    assert ours == ccxt.Exchange.eddsa(message, b"e" * 32, "ed25519", url_encode)
    assert exchange.signer.labels == [ED_LABEL]


def test_an_ed25519_signed_request_verifies_against_the_public_key() -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": ccxt_secret(ED_LABEL, "ed25519")})
    exchange.signer = KeyedSigner()
    signed = exchange.sign("account", ["private"], "GET", {"timestamp": 1})
    payload, signature = signed["url"].split("?", 1)[1].rsplit("&signature=", 1)
    ED_KEY.public_key().verify(base64.b64decode(unquote(signature)), payload.encode())
    assert ED_LABEL not in signed["url"]


def test_other_curves_are_refused_with_advice() -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": ccxt_secret(ED_LABEL, "ed25519")})
    exchange.signer = KeyedSigner()
    with pytest.raises(UnsupportedSigning, match="Ed25519 only"):
        exchange.eddsa(b"m", exchange.secret, "ed448")


async def test_the_simulator_accepts_ed25519_requests_and_stream_subscriptions(
    simulator: RunningSimulator,
) -> None:
    public = ED_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    account = post(f"{simulator.url}/sim/accounts", {
        "name": "ed-signer", "balances": {"MTS": "100", "USDT": "1000"},
        "ed25519_public_key": public})
    exchange = SignedBinancePro({"apiKey": account["ed25519ApiKey"],
                                 "secret": ccxt_secret(ED_LABEL, "ed25519")})
    exchange.signer = KeyedSigner()
    point_at_simulator(exchange, simulator.url)
    try:
        await exchange.load_markets()
        watched = asyncio.create_task(exchange.watch_orders("MTS/USDT"))
        await asyncio.sleep(0.5)  # the signed user-data subscription is in place
        book = await exchange.fetch_order_book("MTS/USDT", 5)
        placed: Any = await exchange.create_order(
            "MTS/USDT", "limit", "buy", 10, book["bids"][-1][0])
        seen = await asyncio.wait_for(watched, 20)
        assert [order["id"] for order in seen] == [placed["id"]]
        assert (await exchange.fetch_balance())["MTS"]["total"] == 100
    finally:
        await exchange.close()


def test_a_signer_that_cannot_be_reached_is_network_trouble_not_a_failure(
    tmp_path: Path,
) -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": "bot-1.sim.hmac"})
    exchange.signer = SignerClient(tmp_path / "signer.sock", timeout=0.2)
    with pytest.raises(SignerUnavailable, match="request not sent") as raised:
        exchange.sign("account", ["private"], "GET", {"timestamp": 1})
    assert isinstance(raised.value, ccxt.NetworkError)


def test_a_signer_that_does_not_answer_in_time_is_network_trouble(tmp_path: Path) -> None:
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(tmp_path / "signer.sock"))
    silent.listen()
    exchange = SignedBinance({"apiKey": "k", "secret": "bot-1.sim.hmac"})
    exchange.signer = SignerClient(tmp_path / "signer.sock", timeout=0.2)
    with pytest.raises(SignerUnavailable):
        exchange.sign("account", ["private"], "GET", {"timestamp": 1})
    silent.close()


def test_a_signer_refusal_is_not_passing_trouble(tmp_path: Path) -> None:
    exchange = SignedBinance({"apiKey": "k", "secret": "bot-1.sim.hmac"})
    exchange.signer = RefusingSigner()
    with pytest.raises(SignerError, match="forbidden"):
        exchange.sign("account", ["private"], "GET", {"timestamp": 1})


class RefusingSigner:
    """A signer that refuses the label, as the agent does for a key the caller may not use."""

    def sign_hmac(self, label: str, message: bytes) -> bytes:
        raise SignerError("forbidden", f"key '{label}' is not yours")

    def sign_eddsa(self, label: str, message: bytes) -> bytes:
        raise SignerError("forbidden", f"key '{label}' is not yours")
