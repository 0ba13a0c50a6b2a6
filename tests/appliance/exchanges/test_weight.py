"""The weight governor keeps a client within the exchange's request-weight limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.exchanges import weight
from appliance.exchanges.adapter import connect
from appliance.exchanges.venue import point_at_simulator
from appliance.exchanges.weight import (
    CANCEL_SHARE,
    ORDINARY_SHARE,
    ROLLOVER_MARGIN_S,
    WeightGovernor,
    WeightMixin,
    request_weight,
    retry_after_s,
    used_weights,
    weight_limits,
)
from appliance.store.appliance_db import Exchange, ExchangeKey
from hsm.client import SignerClient
from provisioning.sim_accounts import open_account
from tests.conftest import RunningSimulator, start_simulator, stop_process

MINUTE_LIMIT = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 100}]
MINUTE = 600.0
"""The start of a whole minute on the governor's clock."""

LIMIT = 40
INTERVAL = "2S"
WINDOW_S = 2
USED_WEIGHT = "X-MBX-USED-WEIGHT-2S"
SYMBOL = "MTS/USDT"
REQUESTS = 17
"""Order books (weight 5 each) past twice the limit: a plain client meets 429 in some window."""
ATTEMPTS = 8


def governor_at(used: int, now: float = MINUTE) -> WeightGovernor:
    """Return a governor that knows a limit of 100 a minute and has counted `used`."""
    governor = WeightGovernor()
    governor.learn(MINUTE_LIMIT)
    governor.count(used, now)
    return governor


def test_requests_stop_at_the_ordinary_share_until_the_next_window() -> None:
    governor = governor_at(round(100 * ORDINARY_SHARE) - 5)
    assert governor.hold(5, cancel=False, now=MINUTE + 10) is None
    governor.count(5, MINUTE + 10)
    hold = governor.hold(1, cancel=False, now=MINUTE + 20)
    assert hold is not None and hold.until == MINUTE + 60 + ROLLOVER_MARGIN_S
    assert "80 of 100" in hold.reason
    assert governor.hold(1, cancel=False, now=hold.until) is None


def test_cancels_may_go_on_to_their_own_share() -> None:
    ordinary_stop, cancel_stop = round(100 * ORDINARY_SHARE), round(100 * CANCEL_SHARE)
    governor = governor_at(ordinary_stop)
    assert governor.hold(1, cancel=False, now=MINUTE) is not None
    assert governor.hold(cancel_stop - ordinary_stop, cancel=True, now=MINUTE) is None
    governor.count(cancel_stop - ordinary_stop, MINUTE)
    assert governor.hold(1, cancel=True, now=MINUTE) is not None


def test_a_request_heavier_than_the_share_goes_alone_in_a_fresh_window() -> None:
    governor = governor_at(0)
    assert governor.hold(99, cancel=False, now=MINUTE) is None
    governor.count(99, MINUTE)
    assert governor.hold(1, cancel=True, now=MINUTE) is not None


@pytest.mark.parametrize("status", [429, 418])
def test_retry_after_holds_everything_even_before_any_limit_is_known(status: int) -> None:
    governor = WeightGovernor()
    governor.observe(status, {"retry-after": "7"}, sent_at=MINUTE, now=MINUTE)
    hold = governor.hold(1, cancel=True, now=MINUTE + 6.9)
    assert hold is not None and hold.until == MINUTE + 7
    assert governor.hold(1, cancel=False, now=MINUTE + 7) is None


def test_without_a_known_limit_only_retry_after_holds() -> None:
    governor = WeightGovernor()
    governor.count(10_000, MINUTE)
    governor.observe(200, {"X-MBX-USED-WEIGHT-1M": "9000"}, sent_at=MINUTE, now=MINUTE)
    assert governor.hold(50, cancel=False, now=MINUTE) is None
    governor.observe(200, {"Retry-After": "3"}, sent_at=MINUTE, now=MINUTE)
    assert governor.hold(50, cancel=False, now=MINUTE) is None


def test_the_exchange_count_wins_only_when_larger() -> None:
    governor = governor_at(10)
    governor.observe(200, {"x-mbx-used-weight-1m": "3"}, sent_at=MINUTE, now=MINUTE + 1)
    assert governor.hold(71, cancel=False, now=MINUTE + 1) is not None
    other_bot = governor_at(10)
    other_bot.observe(200, {"X-MBX-USED-WEIGHT-1M": "78"}, sent_at=MINUTE, now=MINUTE + 1)
    assert other_bot.hold(3, cancel=False, now=MINUTE + 1) is not None


def test_a_count_from_an_earlier_window_is_not_taken_for_the_new_one() -> None:
    governor = governor_at(0)
    governor.observe(200, {"X-MBX-USED-WEIGHT-1M": "95"}, sent_at=MINUTE + 59.9,
                     now=MINUTE + 60.1)
    assert governor.hold(5, cancel=False, now=MINUTE + 60.1) is None


def test_the_count_learned_before_the_limit_holds_once_the_limit_is_known() -> None:
    governor = WeightGovernor()
    governor.observe(200, {"X-MBX-USED-WEIGHT-1M": "79"}, sent_at=MINUTE, now=MINUTE)
    governor.learn(MINUTE_LIMIT)
    assert governor.hold(5, cancel=False, now=MINUTE + 1) is not None


def test_used_weight_headers_of_every_interval_are_read_whatever_their_case() -> None:
    assert used_weights({
        "x-mbx-used-weight-1m": "12", "X-MBX-USED-WEIGHT-10S": "3", "X-Mbx-Used-Weight-1D": "4",
        "X-MBX-USED-WEIGHT-2H": "8", "X-MBX-USED-WEIGHT": "9", "X-MBX-USED-WEIGHT-1M5": "1",
        "X-MBX-USED-WEIGHT-0M": "1", "X-MBX-USED-WEIGHT-5M": "lots",
        "X-MBX-ORDER-COUNT-10S": "2",
    }) == {60: 12, 10: 3, 86_400: 4, 7200: 8}


@given(st.integers(1, 10_000), st.sampled_from("smhdSMHD"), st.integers(0, 10**6))
def test_any_used_weight_header_gives_its_window_in_seconds(
    count: int, unit: str, used: int
) -> None:
    seconds = count * {"s": 1, "m": 60, "h": 3600, "d": 86_400}[unit.lower()]
    assert used_weights({f"X-MBX-USED-WEIGHT-{count}{unit}": str(used)}) == {seconds: used}


def test_limits_are_learned_from_the_request_weight_entries_of_exchange_info() -> None:
    rate_limits: list[Any] = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": 6000},
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 10,
         "limit": 900},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
         "limit": 61000},
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "WEEK", "intervalNum": 1, "limit": 5},
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 0,
         "limit": 5},
        "REQUEST_WEIGHT",
    ]
    assert weight_limits(rate_limits) == {60: 6000, 10: 900}
    governor = WeightGovernor()
    governor.learn(rate_limits)
    governor.learn([{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                     "intervalNum": 1, "limit": 2400}])
    assert governor.limits == {60: 2400, 10: 900}


def test_retry_after_is_read_as_seconds() -> None:
    assert retry_after_s({"Retry-After": "12"}) == 12.0
    assert retry_after_s({"retry-after": "0.5"}) == 0.5
    assert retry_after_s({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_s({"Retry-After": "-1"}) is None
    assert retry_after_s({}) is None


def test_a_request_counts_as_five_weight_a_unit_of_ccxt_cost() -> None:
    assert [request_weight(cost) for cost in (0.2, 0.4, 1, 1.2, 4, 0)] == [1, 2, 5, 6, 20, 1]


@given(st.lists(st.tuples(st.integers(1, 10), st.booleans(), st.floats(0, 4)), max_size=200))
def test_a_governed_sender_never_takes_a_window_past_its_share(
    requests: list[tuple[int, bool, float]],
) -> None:
    governor, exchange = governor_at(0), dict[int, int]()
    now = MINUTE
    for request, cancel, gap in requests:
        now += gap
        while (hold := governor.hold(request, cancel, now)) is not None:
            now = hold.until
        governor.count(request, now)
        window = int(now // 60)
        exchange[window] = exchange.get(window, 0) + request
        assert exchange[window] <= 100 * (CANCEL_SHARE if cancel else ORDINARY_SHARE)
        governor.observe(200, {"X-MBX-USED-WEIGHT-1M": str(exchange[window])}, now, now)


class Answers:
    """Put before a ccxt class: keep each answer's status and the weight it says is used."""

    answers: list[tuple[int, int]]

    def on_rest_response(self, code: Any, reason: Any, url: str, method: str,
                         response_headers: Any, *rest: Any) -> Any:
        """Note the status and used weight, then let ccxt go on."""
        self.answers.append((int(code), int(response_headers.get(USED_WEIGHT, -1))))
        return super().on_rest_response(  # type: ignore[misc]
            code, reason, url, method, response_headers, *rest)

    @property
    def statuses(self) -> list[int]:
        """Return the status of every answer so far."""
        return [status for status, _ in self.answers]


class GovernedBinance(Answers, WeightMixin, ccxt_async.binance):  # type: ignore[misc]
    """ccxt's binance with the weight governor."""


class PlainBinance(Answers, ccxt_async.binance):  # type: ignore[misc]
    """ccxt's binance as it comes, only ccxt's own rate limiting."""


ClientMaker = Callable[..., Any]
"""Make a client of a binance class, with credentials if given."""


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[RunningSimulator]:
    """Run a simulator whose request weight limit is 40 in windows of two seconds."""
    running = start_simulator(
        tmp_path / "simdata", "--seed", "7",
        "--set", f"limits.request_weight_per_minute={LIMIT}",
        "--set", f"limits.request_weight_interval={INTERVAL}",
    )
    yield running
    stop_process(running.process)


@pytest.fixture
async def make_client(limited: RunningSimulator) -> AsyncIterator[ClientMaker]:
    """Return a function that makes binance clients of a class on the limited simulator."""
    clients: list[Any] = []

    def make(kind: type[Any], credentials: dict[str, str] | None = None) -> Any:
        client = kind(credentials or {})
        point_at_simulator(client, limited.url)
        client.answers = []
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def other_bot(limited: RunningSimulator) -> AsyncIterator[Callable[[int], Awaitable[int]]]:
    """Return a function that uses weight as another client of the same IP would."""
    async with aiohttp.ClientSession() as http:

        async def use(until: int) -> int:
            """Ping until the window's used weight reaches `until`; return the last status."""
            while True:
                async with http.get(f"{limited.url}/api/v3/ping") as response:
                    if int(response.headers[USED_WEIGHT]) >= until or response.status != 200:
                        return response.status

        yield use


async def next_window() -> None:
    """Sleep into the start of the next weight window, so what follows shares one window."""
    await asyncio.sleep(WINDOW_S - time.time() % WINDOW_S + 0.05)


async def attempts(request: Callable[[], Awaitable[Any]], times: int) -> list[Any]:
    """Make a request `times` in a row, keeping on after a rate-limit refusal."""
    results: list[Any] = []
    for _ in range(times):
        try:
            results.append(await request())
        except ccxt_async.DDoSProtection as exc:
            results.append(exc)
    return results


async def test_a_governed_client_meets_no_429_where_a_plain_one_does(
    make_client: ClientMaker,
) -> None:
    governed, plain = make_client(GovernedBinance), make_client(PlainBinance)
    await governed.load_markets()
    await plain.load_markets()
    assert governed.weight_governor.limits == {WINDOW_S: LIMIT}

    await asyncio.gather(*(governed.fetch_order_book(SYMBOL) for _ in range(REQUESTS)))
    assert set(governed.statuses) == {200}
    assert all(0 < used <= LIMIT for _, used in governed.answers)

    results = await asyncio.gather(
        *(plain.fetch_order_book(SYMBOL) for _ in range(REQUESTS)), return_exceptions=True)
    assert 429 in plain.statuses
    assert any(isinstance(result, ccxt_async.DDoSProtection) for result in results)


async def test_a_governed_client_waits_for_the_next_window_when_another_used_most(
    make_client: ClientMaker, other_bot: Callable[[int], Awaitable[int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=weight.__name__)
    others_use = LIMIT - 8
    governed, plain = make_client(GovernedBinance), make_client(PlainBinance)
    await governed.load_markets()
    await plain.load_markets()

    await next_window()
    assert await other_bot(others_use) == 200
    await attempts(lambda: governed.fetch_order_book(SYMBOL), 3)
    used = [used for _, used in governed.answers[-3:]]
    assert governed.statuses[-3:] == [200, 200, 200]
    assert used[0] == others_use + 5 and used[1] < used[0]
    assert any("holding GET depth" in r.getMessage() for r in caplog.records)

    await next_window()
    assert await other_bot(others_use) == 200
    results = await attempts(lambda: plain.fetch_order_book(SYMBOL), 3)
    assert plain.statuses[-3:] == [200, 429, 429]
    assert isinstance(results[-1], ccxt_async.DDoSProtection)


async def test_after_a_429_a_governed_client_keeps_trying_and_is_never_banned(
    make_client: ClientMaker, other_bot: Callable[[int], Awaitable[int]],
    limited: RunningSimulator, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=weight.__name__)
    account = open_account(limited.url, "bot-1", {"USDT": "1000"})
    credentials = {"apiKey": account.api_key, "secret": account.secret}
    governed = make_client(GovernedBinance, credentials)
    plain = make_client(PlainBinance, credentials)
    await governed.load_markets()
    await plain.load_markets()

    await next_window()
    assert await other_bot(LIMIT + 1) == 429
    results = await attempts(lambda: governed.fetch_open_orders(SYMBOL), ATTEMPTS)
    assert 418 not in governed.statuses
    assert governed.statuses[-1] == 200 and results[-1] == []
    logged = caplog.text
    assert "holding GET openOrders" in logged
    assert "signature" not in logged and account.secret not in logged

    await next_window()
    assert await other_bot(LIMIT + 1) == 429
    await attempts(lambda: plain.fetch_open_orders(SYMBOL), ATTEMPTS)
    assert 418 in plain.statuses


async def test_connect_builds_a_governed_client(
    limited: RunningSimulator, tmp_path: Path
) -> None:
    client = connect(
        Exchange("simulator", "binance", limited.url),
        ExchangeKey("bot-1-simulator", "simulator", "bot-1", "hmac", "public-only"),
        SignerClient(tmp_path / "signer.sock"),
    )
    try:
        await client.load_markets()
        await client.fetch_order_book(SYMBOL)
    finally:
        await client.close()
    assert client.enableRateLimit
    assert isinstance(client, WeightMixin)
    assert client.weight_governor.limits == {WINDOW_S: LIMIT}
