"""The exchanges an owner may pick for an account: ccxt's spot exchanges, and the simulator.

An exchange is listed when ccxt's class of it trades spot and can create and cancel orders and
fetch the open ones. Each choice says which credentials ccxt's class requires (of API key,
secret, passphrase and uid: the kinds the token holds), whether ccxt has a sandbox or testnet
for it, and whether the box can trade on it: that needs its capability table, with everything
the order manager needs of it (`orders.venue.NEEDED`), and credentials the box can keep.

It also holds the rules an account's name, a pair and a credential follow, so the panel checks a
form by the very rules the supervisor applies.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import ccxt

from appliance.exchanges.capabilities import NoCapabilities, capabilities_of
from appliance.orders.venue import NEEDED

SIMULATOR = "simulator"
"""The catalog id of the exchange simulator, which speaks Binance's spot API."""
SIMULATOR_CCXT_ID = "binance"

CREDENTIALS = ("apiKey", "secret", "password", "uid")
"""The credentials the box can keep, in the order a form asks for them; ccxt's names."""
NEEDED_FEATURES = ("spot", "createOrder", "cancelOrder", "fetchOpenOrders")

ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,23}")
"""A new account's name, whole; ACCOUNT_RULE says it in words."""
ACCOUNT_RULE = "1 to 24 lower-case letters, digits or '-', starting with a letter or digit"
SYMBOL = re.compile(r"[A-Z0-9]{1,20}/[A-Z0-9]{1,20}")
"""A new pair, whole: BASE/QUOTE in capitals."""
CREDENTIAL_MAX = 512
"""The longest credential the box takes; exchanges' keys and secrets are far shorter."""


class UnknownChoice(Exception):
    """The catalog has no exchange of that id."""


@dataclass(frozen=True)
class ExchangeChoice:
    """One exchange an account can be opened on, and what its form asks for."""

    id: str
    name: str
    ccxt_id: str
    credentials: tuple[str, ...]
    """The credentials ccxt's class requires, of CREDENTIALS, in that order."""
    sandbox: bool
    """Whether ccxt has a sandbox or testnet URL for it (`set_sandbox_mode`)."""
    supported: bool
    missing: str | None
    """Why the box cannot trade on it yet; None when it can."""


def catalog() -> tuple[ExchangeChoice, ...]:
    """Return every choice: the simulator first, then ccxt's spot exchanges by name."""
    return _catalog()


def choice(choice_id: str) -> ExchangeChoice:
    """Return the choice `choice_id`; UnknownChoice names how to find a valid one."""
    for entry in _catalog():
        if entry.id == choice_id:
            return entry
    raise UnknownChoice(f"'{choice_id[:40]}' is not an exchange the box offers; pick one of "
                        "GET /api/exchanges/catalog")


@functools.cache
def _catalog() -> tuple[ExchangeChoice, ...]:
    simulator = ExchangeChoice(SIMULATOR, "Exchange simulator (Binance spot API)",
                               SIMULATOR_CCXT_ID, ("apiKey", "secret"), False, True, None)
    entries = [entry for ccxt_id in ccxt.exchanges
               if (entry := _entry(ccxt_id)) is not None]
    return (simulator, *sorted(entries, key=lambda e: e.name.lower()))


def _entry(ccxt_id: str) -> ExchangeChoice | None:
    """Return the choice of one ccxt exchange, or None when it does not trade spot as needed."""
    exchange = getattr(ccxt, ccxt_id)()
    if not all(exchange.has.get(feature) for feature in NEEDED_FEATURES):
        return None
    required = {name for name, needed in exchange.requiredCredentials.items() if needed}
    others = sorted(required - set(CREDENTIALS))
    missing: str | None = None
    if others:
        missing = (f"{exchange.name} needs {', '.join(others)}, which the box cannot keep in "
                   "its token")
    else:
        try:
            capabilities_of(ccxt_id, *NEEDED)
        except NoCapabilities as exc:
            missing = str(exc)
    return ExchangeChoice(ccxt_id, str(exchange.name), ccxt_id,
                          tuple(c for c in CREDENTIALS if c in required),
                          "test" in exchange.urls, missing is None, missing)
