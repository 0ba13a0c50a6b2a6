"""Where the panel listens: the command line, else appliance.db's settings, else the defaults."""

from __future__ import annotations

import logging
from pathlib import Path

from appliance.store.appliance_db import settings
from appliance.store.database import StoreUnavailable, open_reader
from ui.const import DEFAULT_HOST, DEFAULT_PORT

log = logging.getLogger(__name__)


class BadPanelSetting(ValueError):
    """appliance.db's panel_port is not a port number."""


def panel_settings(path: Path) -> dict[str, str]:
    """Return appliance.db's settings, or none if it cannot be read yet."""
    try:
        db = open_reader(path)
    except StoreUnavailable as exc:
        log.warning("%s; listening on the default address", exc)
        return {}
    try:
        return settings(db)
    finally:
        db.close()


def listen_address(path: Path, host: str | None, port: int | None) -> tuple[str, int]:
    """Return the host and port to listen on."""
    stored = panel_settings(path) if host is None or port is None else {}
    return (
        host if host is not None else stored.get("panel_host", DEFAULT_HOST),
        port if port is not None else stored_port(stored),
    )


def port_number(text: str) -> int:
    """Return a TCP port number, or raise ValueError."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def stored_port(stored: dict[str, str]) -> int:
    """Return the panel_port setting, or the default port without one."""
    text = stored.get("panel_port", str(DEFAULT_PORT))
    try:
        return port_number(text)
    except ValueError:
        raise BadPanelSetting(
            f"setting panel_port={text!r} in appliance.db is not a port number;"
            " correct it or pass --port"
        ) from None
