"""Benchmark: signing on a bot's event loop, as SignerMixin does, against signing off it.

Run with `./build.sh bench`. One SoftHSM2 token, one signer process as the box runs it, one
SignerClient as a bot holds it. N pair workers on one asyncio loop sign a Binance order query
again and again, either inline (ccxt's synchronous `sign()` calls SignerMixin, which blocks the
loop for the round trip) or off the loop, in the one-thread executor that owns the client (a
SignerClient is one connection for one thread at a time, so `asyncio.to_thread`'s shared pool
would interleave requests on its socket). A probe on the same loop sleeps 1 ms again and again
and records how late it wakes: what the market feeds and the other workers suffer. Every figure
is measured in the same run, against a loop with the probe alone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import signal
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.exchanges.signing import ED25519, SignerMixin, ccxt_secret
from hsm.client import SignerClient
from tests.hsm.signer_bed import (
    BENCH_ED25519_LABEL,
    BENCH_HMAC_LABEL,
    SECRET,
    RunningSigner,
    bench_signer,
)

pytestmark = pytest.mark.bench

MESSAGE = b"symbol=MTSUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=20&price=1.2500" \
          b"&newClientOrderId=mmb-bot-1-000042&recvWindow=5000&timestamp=1767225600000"
WORKER_COUNTS = (1, 2, 8)
SECONDS_PER_RUN = 1.5
ROUNDS = 3
MODES = ("inline", "off")
PROBE_SLEEP = 0.001
STALL_AFTER = 0.4
STALL_SECONDS = 0.25
STALL_WORKERS = 2
WARM_UP_CALLS = 200

Sign = Callable[[], str | bytes]
Signing = Callable[[], Awaitable[str | bytes]]


@dataclass
class Figures:
    """What runs gathered: signatures, their times as the workers saw them, the loop's lag."""

    seconds: float = 0.0
    sign_ns: list[int] = field(default_factory=list)
    cycle_ns: list[int] = field(default_factory=list)
    lag_ns: list[int] = field(default_factory=list)
    last: str | bytes = b""

    def add(self, other: Figures) -> None:
        """Pool another run's figures into these."""
        self.seconds += other.seconds
        self.sign_ns += other.sign_ns
        self.cycle_ns += other.cycle_ns
        self.lag_ns += other.lag_ns
        self.last = other.last or self.last

    @property
    def per_second(self) -> float:
        """Return signatures per second of wall time."""
        return len(self.sign_ns) / self.seconds

    def sign_us(self, percent: int) -> float:
        """Return the `percent` centile of a signature's time in microseconds."""
        return centile(self.sign_ns, percent)

    def lag_us(self, percent: int) -> float:
        """Return the `percent` centile of the probe's lateness in microseconds."""
        return centile(self.lag_ns, percent)

    def __str__(self) -> str:
        signing = ""
        if self.sign_ns:
            signing = (f"{self.per_second:6.0f}/s   sign p50 {self.sign_us(50):6.0f} p99 "
                       f"{self.sign_us(99):6.0f} max {self.sign_us(100):7.0f} us   cycle p99 "
                       f"{centile(self.cycle_ns, 99):6.0f} us   ")
        return (f"{signing}loop lag p50 {self.lag_us(50):6.0f} p99 {self.lag_us(99):6.0f} "
                f"max {self.lag_us(100):7.0f} us")


def centile(durations_ns: list[int], percent: int) -> float:
    """Return the `percent` centile (100: the maximum) of durations, in microseconds."""
    if percent == 100:
        return max(durations_ns) / 1000
    return statistics.quantiles(durations_ns, n=100, method="inclusive")[percent - 1] / 1000


class Round:
    """One round on one event loop: the workers' signatures and the probe's lateness."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.figures = Figures()

    async def probe(self) -> None:
        """Sleep PROBE_SLEEP again and again; record how late each wake-up comes."""
        wanted = int(PROBE_SLEEP * 1e9)
        while time.perf_counter() < self.deadline:
            start = time.perf_counter_ns()
            await asyncio.sleep(PROBE_SLEEP)
            self.figures.lag_ns.append(time.perf_counter_ns() - start - wanted)

    async def worker(self, sign: Signing) -> None:
        """Sign until the deadline, yielding to the loop after each signature, as a pair does."""
        while time.perf_counter() < self.deadline:
            start = time.perf_counter_ns()
            self.figures.last = await sign()
            signed = time.perf_counter_ns()
            await asyncio.sleep(0)
            self.figures.sign_ns.append(signed - start)
            self.figures.cycle_ns.append(time.perf_counter_ns() - start)


def inline(sign: Sign) -> Signing:
    """Return a coroutine function that signs on the loop, blocking it, as ccxt's sign() does."""
    async def signed() -> str | bytes:
        return sign()
    return signed


def off_loop(sign: Sign, executor: ThreadPoolExecutor) -> Signing:
    """Return a coroutine function that signs in the client's own thread and awaits it."""
    async def signed() -> str | bytes:
        return await asyncio.get_running_loop().run_in_executor(executor, sign)
    return signed


async def measure(seconds: float, workers: int, sign: Signing | None) -> Figures:
    """Run the probe and `workers` signing workers on this loop for `seconds`."""
    round_ = Round(seconds)
    start = time.perf_counter()
    tasks = [round_.probe()]
    if sign is not None:
        tasks += [round_.worker(sign) for _ in range(workers)]
    await asyncio.gather(*tasks)
    round_.figures.seconds = time.perf_counter() - start
    return round_.figures


def run_mode(mode: str, sign: Sign, workers: int, seconds: float) -> Figures:
    """Measure `workers` workers signing in `mode` (baseline, inline or off) on a fresh loop."""
    if mode == "baseline":
        return asyncio.run(measure(seconds, 0, None))
    if mode == "inline":
        return asyncio.run(measure(seconds, workers, inline(sign)))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="signer") as executor:
        executor.submit(sign).result()
        return asyncio.run(measure(seconds, workers, off_loop(sign, executor)))


def interleaved(sign: Sign, workers: int, baseline: Figures) -> dict[str, Figures]:
    """Measure inline and off in alternating rounds, pooling the probe-alone rounds in baseline."""
    pooled = {mode: Figures() for mode in MODES}
    for _ in range(ROUNDS):
        baseline.add(run_mode("baseline", sign, workers, SECONDS_PER_RUN / ROUNDS))
        for mode in MODES:
            pooled[mode].add(run_mode(mode, sign, workers, SECONDS_PER_RUN / ROUNDS))
    return pooled


def stalled(pid: int, mode: str, sign: Sign) -> Figures:
    """Measure a run during which the signer stops answering for STALL_SECONDS."""
    def stall() -> None:
        time.sleep(STALL_AFTER)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(STALL_SECONDS)
        finally:
            os.kill(pid, signal.SIGCONT)
    staller = threading.Thread(target=stall)
    staller.start()
    try:
        return run_mode(mode, sign, STALL_WORKERS, STALL_AFTER + STALL_SECONDS + 0.35)
    finally:
        staller.join()


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSigner]:
    """Yield a signer on a token with one HMAC and one Ed25519 key, unlimited in rate."""
    with bench_signer(tmp_path_factory.mktemp("signing-bench")) as running:
        yield running


def mixin_calls(client: SignerClient) -> dict[str, Sign]:
    """Return the SignerMixin calls ccxt's binance sign() makes, on one bot's client."""
    mixin = SignerMixin()
    mixin.signer = client
    hmac_secret = ccxt_secret(BENCH_HMAC_LABEL, "hmac").encode()
    ed_secret = ccxt_secret(BENCH_ED25519_LABEL, ED25519)
    return {"HMAC": lambda: mixin.hmac(MESSAGE, hmac_secret, hashlib.sha256, "hex"),
            "Ed25519": lambda: mixin.eddsa(MESSAGE, ed_secret)}


def check_signature(kind: str, signature: str | bytes, public_key: bytes) -> None:
    """Fail unless signature is the token's signature of MESSAGE."""
    if kind == "HMAC":
        assert signature == hmac.new(SECRET, MESSAGE, hashlib.sha256).hexdigest()
        return
    assert isinstance(signature, str)
    Ed25519PublicKey.from_public_bytes(public_key).verify(base64.b64decode(signature), MESSAGE)


def ratio(off: float, inline: float) -> str:
    """Return off / inline as text."""
    return f"{off / inline:5.2f}"


def print_comparison(kind: str, workers: int, runs: dict[str, Figures]) -> None:
    """Print one kind and worker count, both modes and their ratios."""
    on, off = runs["inline"], runs["off"]
    who = f"{kind:7} {workers} worker{'s' if workers > 1 else ' '}"
    print(f"  {who} inline   {on}")
    print(f"  {who} off loop {off}")
    print(f"  {'':17} off/inline: signatures/s {ratio(off.per_second, on.per_second)}   "
          f"sign p50 {ratio(off.sign_us(50), on.sign_us(50))}   "
          f"p99 {ratio(off.sign_us(99), on.sign_us(99))}   "
          f"cycle p99 {ratio(centile(off.cycle_ns, 99), centile(on.cycle_ns, 99))}   "
          f"lag p99 {ratio(off.lag_us(99), on.lag_us(99))}   "
          f"max {ratio(off.lag_us(100), on.lag_us(100))}")


def test_signing_on_the_event_loop_against_off_it(signer: RunningSigner) -> None:
    client = SignerClient(signer.socket)
    calls = mixin_calls(client)
    public_key = client.public_key(BENCH_ED25519_LABEL)
    for sign in calls.values():
        for _ in range(WARM_UP_CALLS):
            sign()
    print(f"\nsigning on a bot's event loop through the signer agent ({os.cpu_count()} cores), "
          f"{len(MESSAGE)}-byte order query, {SECONDS_PER_RUN} s per mode in {ROUNDS} "
          f"alternating rounds, the probe sleeping {PROBE_SLEEP * 1e3:.0f} ms:")
    baseline = Figures()
    for kind, sign in calls.items():
        for workers in WORKER_COUNTS:
            runs = interleaved(sign, workers, baseline)
            for run in runs.values():
                assert run.sign_ns and run.lag_ns
                check_signature(kind, run.last, public_key)
            print_comparison(kind, workers, runs)
    assert baseline.lag_ns
    print(f"  baseline, the probe alone (pooled)  {baseline}")
    stalls = {mode: stalled(signer.process.pid, mode, calls["HMAC"]) for mode in MODES}
    for mode, run in stalls.items():
        assert run.sign_ns and run.lag_ns
        print(f"  HMAC, signer stopped {STALL_SECONDS * 1e3:.0f} ms, {STALL_WORKERS} workers, "
              f"{mode:6} {run}")
    client.close()
