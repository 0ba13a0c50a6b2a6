"""Where the first-run wizard resumes, and which allowlist entry lets a browser in."""

from __future__ import annotations

import pytest

from appliance.store.appliance_db import Pair
from ui.setup_state import BoxSetup, Step, covering


def setup(accounts: list[tuple[str, str]], pairs: list[Pair]) -> BoxSetup:
    return BoxSetup("MTS", ["bot-1", "bot-2"], ("127.0.0.1/32",), accounts, pairs)


def pair(shadow: bool) -> Pair:
    return Pair("bot-1", "sim", "MTS/USDT", "spread", shadow=shadow)


@pytest.mark.parametrize(("accounts", "pairs", "step"), [
    ([], [], Step.ALLOWLIST),
    ([("sim", "bot-1")], [], Step.PAIR),
    ([("sim", "bot-1")], [pair(shadow=True)], Step.STRATEGY),
    ([("sim", "bot-1")], [pair(shadow=True), pair(shadow=False)], Step.LIVE),
])
def test_a_visit_resumes_where_the_box_stands(
    accounts: list[tuple[str, str]], pairs: list[Pair], step: Step,
) -> None:
    assert setup(accounts, pairs).resume is step


def test_a_bot_s_accounts_are_its_own() -> None:
    box = setup([("sim", "bot-1"), ("okx", "bot-2"), ("main", "bot-1")], [])
    assert box.accounts_of("bot-1") == ["sim", "main"]
    assert box.accounts_of("bot-3") == []


@pytest.mark.parametrize(("address", "entry"), [
    ("127.0.0.1", "127.0.0.0/8"),
    ("192.168.1.20", "192.168.1.0/24"),
    ("10.0.0.1", None),
    ("not-an-address", None),
    ("::1", "::1/128"),
])
def test_the_entry_letting_an_address_in_is_named(address: str, entry: str | None) -> None:
    allowlist = ("bad-entry", "127.0.0.0/8", "192.168.1.0/24", "::1/128")
    assert covering(allowlist, address) == entry
