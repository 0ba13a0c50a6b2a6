"""A real signer beside the panel's test box: the box token and software operator keys.

The development box's software keys are SoftHSM2 tokens the signer (`--dev-keys`) lists as
plugged-in keys, so a test logs in exactly as an owner does: pick a key, type its PIN, and the
signer signs a fresh challenge on it. `dev-key-1` is enrolled for the owner `carol`,
`dev-key-2` for the operator `dave`; `dev-key-3` is plugged in but enrolled for nobody.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nicegui.testing.user import User

from appliance.datadir import DataDir
from appliance.store.access import Role
from hsm.client import SignerClient
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import init_token, use_config
from hsm.softkeys import DEV_KEY_PIN_FILE, soft_device
from provisioning.devkey import enrol_dev_key, make_dev_key
from tests.hsm.signer_bed import start_signer, stop, wait_until_serving
from ui.auth.guard import SESSION_COOKIE

OWNER_KEY = soft_device("dev-key-1")
OPERATOR_KEY = soft_device("dev-key-2")
STRANGER_KEY = soft_device("dev-key-3")


@dataclass(frozen=True)
class KeyedSigner:
    """The running signer, the software keys' PIN and the box token's PIN."""

    data: DataDir
    client: SignerClient
    key_pin: str = field(repr=False)
    box_pin: str = field(repr=False)

    def pull(self, device: str) -> None:
        """Pull a software key out, as a hand pulls a USB key."""
        self.client.call("dev_key", device=device, plugged=False)


async def log_in(visitor: User, device: str, pin: str) -> httpx.Response:
    """Post the login form as a browser does, and keep the session cookie it sets.

    The simulated visitor speaks plain HTTP to the app, so the cookie (Secure, as the panel
    is served over HTTPS only) is put in its jar by hand, as a browser keeps it over HTTPS.
    """
    answer = await visitor.http_client.post("/login", data={"device": device, "pin": pin})
    if SESSION_COOKIE in answer.cookies:
        visitor.http_client.cookies.delete(SESSION_COOKIE)
        visitor.http_client.cookies.set(SESSION_COOKIE, answer.cookies[SESSION_COOKIE])
    return answer


@contextmanager
def keyed_signer(data: DataDir, log: Path, *, locked: bool = False) -> Iterator[KeyedSigner]:
    """Run a signer with the box token and three software keys, two of them enrolled."""
    box_pin = secrets.token_hex(8)
    init_token(data, DEFAULT_TOKEN_LABEL, secrets.token_hex(8), box_pin)
    use_config(data)
    enrol_dev_key(data, "carol", Role.OWNER, make_dev_key(data, "dev-key-1"))
    enrol_dev_key(data, "dave", Role.OPERATOR, make_dev_key(data, "dev-key-2"))
    make_dev_key(data, "dev-key-3")
    key_pin = (data.hsm / DEV_KEY_PIN_FILE).read_text().strip()
    args = ["--token", DEFAULT_TOKEN_LABEL, "--panel", str(os.getuid()), "--dev-keys"]
    process = start_signer(data, None if locked else box_pin, log,
                           *args, *(["--locked"] if locked else []))
    client = SignerClient(data.signer_sock)
    try:
        wait_until_serving(process, client)
        yield KeyedSigner(data, client, key_pin, box_pin)
    finally:
        client.close()
        stop(process)
