"""Benchmark: signatures per second through the signer agent, against direct PKCS#11 calls.

Run with `./build.sh bench`. One SoftHSM2 token, one signer process as the box runs it; the
clients are processes with one connection each, like the bots. The direct figures come from a
session of this process on the same token, in the same run.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE
from hsm.token import Token
from tests.hsm.signer_bed import RunningSigner, bench_signer

pytestmark = pytest.mark.bench

MESSAGE = b"symbol=MTSUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=20&price=1.2500" \
          b"&newClientOrderId=mmb-bot-1-000042&recvWindow=5000&timestamp=1767225600000"
HMAC_CALLS = 10_000
EDDSA_CALLS = 2_000
CONCURRENT_CLIENTS = 4


@dataclass(frozen=True)
class Run:
    """How one run of calls went: calls per second and round trips in microseconds."""

    per_second: float
    p50_us: float
    p99_us: float

    def __str__(self) -> str:
        return (f"{self.per_second:8.0f}/s   p50 {self.p50_us:6.0f} us   "
                f"p99 {self.p99_us:6.0f} us")


def timed(call: Callable[[], object], count: int) -> list[int]:
    """Call `count` times; return each call's duration in nanoseconds."""
    durations = []
    for _ in range(count):
        start = time.perf_counter_ns()
        call()
        durations.append(time.perf_counter_ns() - start)
    return durations


def summary(durations: list[int], elapsed: float) -> Run:
    """Summarise durations measured over `elapsed` seconds of wall time."""
    centiles = statistics.quantiles(durations, n=100)
    return Run(len(durations) / elapsed, centiles[49] / 1000, centiles[98] / 1000)


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user and system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_client(call: Callable[[], object], count: int) -> Run:
    """Run `count` calls one after the other."""
    call()
    start = time.perf_counter()
    durations = timed(call, count)
    return summary(durations, time.perf_counter() - start)


def concurrent_clients(socket_path: Path, kind: str, clients: int, count: int) -> Run:
    """Run `count` calls in each of `clients` processes at once, as the box's bots do."""
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    done: multiprocessing.Queue[tuple[float, float, list[int]]] = context.Queue()
    workers = [context.Process(target=client_process, args=(socket_path, kind, count, go, done))
               for _ in range(clients)]
    for worker in workers:
        worker.start()
    go.set()
    runs = [done.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = max(end for _, end, _ in runs) - min(start for start, _, _ in runs)
    return summary([d for _, _, durations in runs for d in durations], elapsed)


def client_process(socket_path: Path, kind: str, count: int, go: Any, done: Any) -> None:
    """Sign `count` times once `go` is set; put (start, end, durations) on `done`."""
    call = CALLS[kind](socket_path)
    call()
    go.wait()
    start = time.perf_counter()
    durations = timed(call, count)
    done.put((start, time.perf_counter(), durations))


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSigner]:
    """Yield a signer on a token with one HMAC and one Ed25519 key, unlimited in rate."""
    with bench_signer(tmp_path_factory.mktemp("bench")) as running:
        yield running


def hmac_call(socket_path: Path) -> Callable[[], object]:
    client = SignerClient(socket_path)
    return lambda: client.sign_hmac("bot-1.sim.hmac", MESSAGE)


def eddsa_call(socket_path: Path) -> Callable[[], object]:
    client = SignerClient(socket_path)
    return lambda: client.sign_eddsa("bot-1.sim.ed25519", MESSAGE)


CALLS = {"HMAC": hmac_call, "Ed25519": eddsa_call}
COUNTS = {"HMAC": HMAC_CALLS, "Ed25519": EDDSA_CALLS}


def test_signatures_through_the_agent_against_direct_pkcs11(signer: RunningSigner) -> None:
    path = signer.socket
    agent, cpu_us = {}, {}
    for kind in CALLS:
        before = cpu_seconds(signer.process.pid)
        agent[kind] = one_client(CALLS[kind](path), COUNTS[kind])
        cpu_us[kind] = (cpu_seconds(signer.process.pid) - before) / COUNTS[kind] * 1e6
    together = {kind: concurrent_clients(path, kind, CONCURRENT_CLIENTS,
                                         COUNTS[kind] // CONCURRENT_CLIENTS) for kind in CALLS}
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, "bench-user-pin") as token:
        direct = {
            "HMAC": one_client(lambda: token.sign_hmac("bot-1.sim.hmac", MESSAGE), HMAC_CALLS),
            "Ed25519": one_client(lambda: token.sign_eddsa("bot-1.sim.ed25519", MESSAGE),
                                  EDDSA_CALLS),
        }
    print(f"\nsigner agent on SoftHSM2 ({os.cpu_count()} cores), {len(MESSAGE)}-byte messages:")
    for kind in CALLS:
        print(f"  {kind:7} agent, one client          {agent[kind]}")
        print(f"  {kind:7} agent, {CONCURRENT_CLIENTS} client processes  {together[kind]}")
        print(f"  {kind:7} direct PKCS#11             {direct[kind]}")
        print(f"  {kind:7} agent / direct: {agent[kind].per_second / direct[kind].per_second:.2f} "
              f"(one client), {together[kind].per_second / direct[kind].per_second:.2f} "
              f"({CONCURRENT_CLIENTS} clients); the signer spends {cpu_us[kind]:.0f} us of CPU "
              f"per request (at most {1e6 / cpu_us[kind]:.0f}/s on one core)")
    print("  target: HMAC through the agent >= 5000/s, p99 round trip < 2000 us")
