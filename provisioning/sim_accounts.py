"""Open trading accounts on the exchange simulator (`POST /sim/accounts`)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from provisioning.factory import ExchangeCredential

TIMEOUT = 10.0


class SimulatorError(Exception):
    """The simulator did not open the account; the message says what to do."""


def open_account(base_url: str, name: str, balances: dict[str, str]) -> ExchangeCredential:
    """Open account `name` with its starting balances and return its API key and secret."""
    url = f"{base_url.rstrip('/')}/sim/accounts"
    request = urllib.request.Request(
        url, method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"name": name, "balances": balances}).encode(),
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(request, timeout=TIMEOUT) as response:
            reply = json.load(response)
    except urllib.error.HTTPError as exc:
        raise _refusal(exc.code, url, name) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SimulatorError(f"cannot reach the simulator at {url} ({reason}); "
                             "start it or fix --exchange-url") from None
    except ValueError:
        raise SimulatorError(f"the simulator at {url} answered with something other than "
                             "JSON; is --exchange-url the simulator's?") from None
    return _credential(reply, name, url)


def _refusal(status: int, url: str, name: str) -> SimulatorError:
    """Return the error of an HTTP refusal."""
    if status == 409:
        return SimulatorError(
            f"the simulator at {url} already has an account '{name}', whose secret it gives "
            "out only once: provision against a simulator started with an empty state folder"
        )
    return SimulatorError(f"the simulator at {url} refused account '{name}' (HTTP {status}); "
                          "check its log")


def _credential(reply: Any, name: str, url: str) -> ExchangeCredential:
    """Return the credential in the simulator's answer."""
    api_key = reply.get("apiKey") if isinstance(reply, dict) else None
    secret = reply.get("secretKey") if isinstance(reply, dict) else None
    if not isinstance(api_key, str) or not isinstance(secret, str) or not api_key or not secret:
        raise SimulatorError(f"the simulator at {url} answered without apiKey and secretKey; "
                             "is --exchange-url the simulator's?")
    return ExchangeCredential(bot=name, api_key=api_key, secret=secret)
