"""The bot token and the webhook key: credentials in the box's token, read by label once granted.

They are read from the signer at start, and again every little while until each is there: a
box that boots locked holds them back until an owner unlocks it, and an owner may import them
later. They live in this process's memory only, and never reach a log.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from hsm.client import SignerClient, SignerError

log = logging.getLogger(__name__)

WHAT_TO_DO = {
    "unknown_key": "import it in the panel",
    "forbidden": "the supervisor grants it to the alerts process at start; restart the box "
                 "after importing it",
    "locked": "it is read once an owner unlocks the box",
    "unreachable": "it is read once the signer serves",
}


class Credentials:
    """The credentials this process uses, by label, as they become readable."""

    def __init__(self, signer_sock: Path, labels: tuple[str, ...], retry_s: float) -> None:
        self._sock = signer_sock
        self._labels = labels
        self._retry_s = retry_s
        self._values: dict[str, str] = {}
        self._trouble: dict[str, str] = {}

    def get(self, label: str) -> str | None:
        """Return the credential `label`, or None while it cannot be read."""
        return self._values.get(label)

    async def read(self) -> bool:
        """Try once to read each credential not read yet; return whether all are read."""
        for label in self._labels:
            if label not in self._values:
                await asyncio.to_thread(self._read, label)
        return len(self._values) == len(self._labels)

    async def run(self) -> None:
        """Read each credential until all are read."""
        while not await self.read():
            await asyncio.sleep(self._retry_s)

    def _read(self, label: str) -> None:
        """Read one credential from the signer; log why not, once per reason."""
        client = SignerClient(self._sock)
        try:
            value = client.read_credential(label).decode().strip()
        except SignerError as exc:
            self._note(label, exc.code, exc.message)
            return
        except UnicodeDecodeError:
            self._note(label, "not_text", "it is not UTF-8 text")
            return
        finally:
            client.close()
        if not value:
            self._note(label, "empty", "it is empty")
            return
        self._values[label] = value
        self._trouble.pop(label, None)
        log.info("read %s from the token", label)

    def _note(self, label: str, code: str, message: str) -> None:
        if self._trouble.get(label) == code:
            return
        self._trouble[label] = code
        fix = WHAT_TO_DO.get(code, "import it again in the panel")
        log.warning("cannot read %s from the token yet (%s); %s; trying again every %g s",
                    label, message, fix, self._retry_s)
