"""Where each source stopped reading, kept across restarts so nothing alerts twice or is missed.

A small JSON file in the process's own folder, replaced atomically. Without it (first start,
or a folder the process may not write) every source starts at the stores' present end.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from appliance.store.atomic import write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "bookmarks.json"


class Bookmarks:
    """The sources' positions, by source name, as plain JSON values."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self.saved: dict[str, Any] = self._load()
        self._writable = True

    def _load(self) -> dict[str, Any]:
        try:
            content = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); every source starts at the stores' end",
                        self.path, exc)
            return {}
        return content if isinstance(content, dict) else {}

    def save(self, positions: dict[str, Any]) -> None:
        """Write the positions, unless they are the ones last written."""
        if positions == self.saved or not self._writable:
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(positions, sort_keys=True).encode())
        except OSError as exc:
            self._writable = False
            log.warning("cannot write %s (%s); after a restart the sources start at the "
                        "stores' end: give the alerts process its own folder there",
                        self.path, exc.strerror)
            return
        self.saved = positions
