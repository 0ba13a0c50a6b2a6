"""Start the exchange simulator as a real process on a free loopback port, and talk to it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlencode

import aiohttp
import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from yarl import URL

from appliance.exchanges.venue import point_at_simulator
from tests.conftest import REPO

STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
READY_PREFIX = "simulator listening on "
UNLIMITED = ("--set", "limits.request_weight_per_minute=1000000")
"""The shared simulator serves every test from one IP; its weight limit is tested elsewhere."""
KEY_TYPES = ("hmac", "ed25519")
_names = itertools.count(1)


@dataclass
class RunningSimulator:
    """A simulator process and where to reach it."""

    base_url: str
    state: Path
    process: subprocess.Popen[str]
    log: TextIO

    @property
    def ws_url(self) -> str:
        """Return the websocket origin of the simulator."""
        return self.base_url.replace("http://", "ws://", 1)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Ask the simulator to stop with a signal and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self.log.close()
            if self.process.stdout is not None:
                self.process.stdout.close()


@dataclass(frozen=True)
class Credentials:
    """A trading account created through the admin endpoint, with one of its API keys.

    For an Ed25519 key, `secret` is the PEM private key, which is what ccxt takes.
    """

    name: str
    api_key: str
    secret: str


def ed25519_pem_pair() -> tuple[str, str]:
    """Return a fresh Ed25519 key pair as PEM texts: private, public."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def start_simulator(state: Path, *args: str) -> RunningSimulator:
    """Start `python -m simulator` from the repository on port 0; wait for its ready line."""
    log = (state.parent / f"{state.name}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--state",
            str(state),
            *args,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=STARTUP_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    running = RunningSimulator(line.removeprefix(READY_PREFIX).strip(), state, process, log)
    if not line.startswith(READY_PREFIX):
        process.kill()
        running.stop()
        raise RuntimeError(f"simulator did not start: {line!r}; see {log.name}")
    return running


def start_quiet_simulator(state: Path) -> RunningSimulator:
    """Start a simulator and stand its outside market still, so only a test's orders trade."""
    running = start_simulator(state, "--seed", "4")
    request = urllib.request.Request(
        f"{running.base_url}/sim/market",
        data=json.dumps({"running": False}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=STARTUP_TIMEOUT_S) as response:
        assert json.load(response)["running"] is False
    return running


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """Run a simulator whose outside market stands still, for one test module."""
    running = start_quiet_simulator(tmp_path_factory.mktemp("quiet") / "state")
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """Run one simulator for the whole session, stopped at the end."""
    running = start_simulator(
        tmp_path_factory.mktemp("simulator") / "state", "--seed", "7", *UNLIMITED
    )
    yield running
    assert running.stop() == 0


class Launcher(Protocol):
    """Start a simulator of one's own, stopped when the test ends unless stopped before."""

    def __call__(self, state: Path, *args: str) -> RunningSimulator:
        """Return the running simulator."""


@pytest.fixture
def launch_simulator() -> Iterator[Launcher]:
    """Return a function that starts simulators and stops them all at the end of the test."""
    launched: list[RunningSimulator] = []

    def launch(state: Path, *args: str) -> RunningSimulator:
        launched.append(start_simulator(state, *args))
        return launched[-1]

    yield launch
    for running in launched:
        running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


class AccountFactory(Protocol):
    """Create an account through `POST /sim/accounts`."""

    async def __call__(
        self,
        balances: dict[str, str],
        name: str | None = None,
        key_type: str = "hmac",
        stp_mode: str | None = None,
    ) -> Credentials:
        """Return the new account's credentials for its key of `key_type`."""


class SignedCall(Protocol):
    """Send one signed request to the simulator."""

    async def __call__(
        self, method: str, path: str, credentials: Credentials, params: dict[str, Any]
    ) -> tuple[int, Any]:
        """Return the HTTP status and the JSON body of the answer."""


class ClientFactory(Protocol):
    """Return a ccxt binance client of an account, closed when the test ends."""

    def __call__(self, credentials: Credentials) -> Any:
        """Return the client."""


async def create_account(
    http: aiohttp.ClientSession,
    base_url: str,
    balances: dict[str, str],
    name: str | None = None,
    key_type: str = "hmac",
    stp_mode: str | None = None,
    enable_withdrawals: bool | None = None,
) -> Credentials:
    """Create an account on a simulator; return the credentials of its key of `key_type`."""
    document: dict[str, Any] = {
        "name": name or f"test-{next(_names)}-{time.monotonic_ns()}",
        "balances": balances,
    }
    private_pem = ""
    if key_type == "ed25519":
        private_pem, document["ed25519_public_key"] = ed25519_pem_pair()
    if stp_mode is not None:
        document["self_trade_prevention_mode"] = stp_mode
    if enable_withdrawals is not None:
        document["enable_withdrawals"] = enable_withdrawals
    async with http.post(f"{base_url}/sim/accounts", json=document) as response:
        assert response.status == 201, await response.text()
        body = await response.json()
    if key_type == "ed25519":
        return Credentials(body["name"], body["ed25519ApiKey"], private_pem)
    return Credentials(body["name"], body["apiKey"], body["secretKey"])


@pytest.fixture
def make_account(simulator: RunningSimulator, http: aiohttp.ClientSession) -> AccountFactory:
    """Return a function that creates accounts with a unique name unless one is given."""

    async def create(
        balances: dict[str, str],
        name: str | None = None,
        key_type: str = "hmac",
        stp_mode: str | None = None,
    ) -> Credentials:
        return await create_account(http, simulator.base_url, balances, name, key_type, stp_mode)

    return create


@pytest.fixture
async def account(make_account: AccountFactory) -> Credentials:
    """Return a fresh account with MTS, USDT and USDC."""
    return await make_account({"MTS": "10000", "USDT": "20000", "USDC": "5000"})


def binance_client(base_url: str, credentials: Credentials, pro: bool = False) -> Any:
    """Return ccxt's async (or pro) binance, unchanged but pointed at the simulator."""
    kind = ccxtpro.binance if pro else ccxt.binance
    exchange = kind({"apiKey": credentials.api_key, "secret": credentials.secret})
    point_at_simulator(exchange, base_url)
    return exchange


class ProClientFactory(Protocol):
    """Return a ccxt.pro binance client of an account on a simulator, closed at the end."""

    def __call__(self, credentials: Credentials, base_url: str | None = None) -> Any:
        """Return the client, on the shared simulator unless `base_url` names another."""


@pytest.fixture
async def make_pro(simulator: RunningSimulator) -> AsyncIterator[ProClientFactory]:
    """Return a function that makes ccxt.pro binance clients, all closed when the test ends."""
    clients: list[Any] = []

    def make(credentials: Credentials, base_url: str | None = None) -> Any:
        clients.append(binance_client(base_url or simulator.base_url, credentials, pro=True))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def make_binance(simulator: RunningSimulator) -> AsyncIterator[ClientFactory]:
    """Return a function that makes ccxt binance clients, all closed when the test ends."""
    clients: list[Any] = []

    def make(credentials: Credentials) -> Any:
        clients.append(binance_client(simulator.base_url, credentials))
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def binance(make_binance: ClientFactory, account: Credentials) -> Any:
    """Return a ccxt binance client of a fresh account, with its markets loaded."""
    exchange = make_binance(account)
    await exchange.load_markets()
    return exchange


def signature(payload: str, secret: str) -> str:
    """Return Binance's signature of a payload: hex HMAC-SHA256, or base64 Ed25519 for a PEM."""
    if "PRIVATE KEY" in secret:
        key = serialization.load_pem_private_key(secret.encode(), None)
        assert isinstance(key, Ed25519PrivateKey)
        return base64.b64encode(key.sign(payload.encode())).decode()
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign(params: dict[str, Any], secret: str, timestamp: int | None = None) -> str:
    """Return a query string signed as Binance wants: timestamp added, signature last."""
    now = int(time.time() * 1000)
    query = urlencode({**params, "timestamp": now if timestamp is None else timestamp})
    return f"{query}&{urlencode({'signature': signature(query, secret)})}"


async def send_signed(
    http: aiohttp.ClientSession,
    base_url: str,
    method: str,
    path: str,
    credentials: Credentials,
    params: dict[str, Any],
) -> tuple[int, Any, dict[str, str]]:
    """Send a signed request (form body for POST, query otherwise); return status, JSON, headers."""
    unstamped = {name: value for name, value in params.items() if name != "timestamp"}
    signed = sign(unstamped, credentials.secret, params.get("timestamp"))
    headers = {"X-MBX-APIKEY": credentials.api_key}
    url = f"{base_url}{path}"
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = http.request(method, url, data=signed, headers=headers)
    else:
        request = http.request(method, URL(f"{url}?{signed}", encoded=True), headers=headers)
    async with request as response:
        return response.status, await response.json(), dict(response.headers)


@pytest.fixture
def call_signed(simulator: RunningSimulator, http: aiohttp.ClientSession) -> SignedCall:
    """Return a function that sends signed requests to the shared simulator."""

    async def call(
        method: str, path: str, credentials: Credentials, params: dict[str, Any]
    ) -> tuple[int, Any]:
        status, body, _ = await send_signed(
            http, simulator.base_url, method, path, credentials, params
        )
        return status, body

    return call
