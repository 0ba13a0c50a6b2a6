"""Start the exchange simulator as a real process on a free loopback port, and talk to it."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlencode

import aiohttp
import ccxt.async_support as ccxt
import pytest
from yarl import URL

from appliance.exchanges.venue import point_at_simulator

STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
READY_PREFIX = "simulator listening on "
_names = itertools.count(1)


@dataclass
class RunningSimulator:
    """A simulator process and where to reach it."""

    base_url: str
    state: Path
    process: subprocess.Popen[str]
    log: TextIO

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
    """A trading account created through the admin endpoint."""

    name: str
    api_key: str
    secret: str


def start_simulator(state: Path, *args: str) -> RunningSimulator:
    """Start `python -m appliance.exchanges.simulator` on port 0 and wait for its ready line."""
    log = (state.parent / f"{state.name}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance.exchanges.simulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--state",
            str(state),
            *args,
        ],
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


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """Run one simulator for the whole session, stopped at the end."""
    running = start_simulator(tmp_path_factory.mktemp("simulator") / "state", "--seed", "7")
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

    async def __call__(self, balances: dict[str, str], name: str | None = None) -> Credentials:
        """Return the new account's credentials."""


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


@pytest.fixture
def make_account(simulator: RunningSimulator, http: aiohttp.ClientSession) -> AccountFactory:
    """Return a function that creates accounts with a unique name unless one is given."""

    async def create(balances: dict[str, str], name: str | None = None) -> Credentials:
        name = name or f"test-{next(_names)}-{time.monotonic_ns()}"
        async with http.post(
            f"{simulator.base_url}/sim/accounts", json={"name": name, "balances": balances}
        ) as response:
            assert response.status == 201, await response.text()
            body = await response.json()
        return Credentials(body["name"], body["apiKey"], body["secretKey"])

    return create


@pytest.fixture
async def account(make_account: AccountFactory) -> Credentials:
    """Return a fresh account with MTS, USDT and USDC."""
    return await make_account({"MTS": "10000", "USDT": "20000", "USDC": "5000"})


def binance_client(base_url: str, credentials: Credentials) -> Any:
    """Return ccxt's async binance, unchanged but pointed at the simulator."""
    exchange = ccxt.binance({"apiKey": credentials.api_key, "secret": credentials.secret})
    point_at_simulator(exchange, base_url)
    return exchange


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


def sign(params: dict[str, Any], secret: str, timestamp: int | None = None) -> str:
    """Return a query string signed as Binance wants: timestamp added, signature last."""
    now = int(time.time() * 1000)
    query = urlencode({**params, "timestamp": now if timestamp is None else timestamp})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


@pytest.fixture
def call_signed(simulator: RunningSimulator, http: aiohttp.ClientSession) -> SignedCall:
    """Return a function that sends signed requests: form body for POST, query otherwise."""

    async def call(
        method: str, path: str, credentials: Credentials, params: dict[str, Any]
    ) -> tuple[int, Any]:
        unstamped = {name: value for name, value in params.items() if name != "timestamp"}
        signed = sign(unstamped, credentials.secret, params.get("timestamp"))
        headers = {"X-MBX-APIKEY": credentials.api_key}
        url = f"{simulator.base_url}{path}"
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            request = http.request(method, url, data=signed, headers=headers)
        else:
            request = http.request(method, URL(f"{url}?{signed}", encoded=True), headers=headers)
        async with request as response:
            return response.status, await response.json()

    return call
