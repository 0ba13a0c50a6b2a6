"""Where the panel listens: command line first, then appliance.db's settings, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.datadir import DataDir
from appliance.store.appliance_db import put_setting
from appliance.store.database import open_writer
from ui.listen import BadPanelSetting, listen_address, port_number


def set_panel(datadir: DataDir, host: str, port: str) -> None:
    """Store the panel's address settings."""
    db = open_writer(datadir.appliance_db)
    put_setting(db, "panel_host", host)
    put_setting(db, "panel_port", port)
    db.close()


def test_defaults_without_settings(datadir: DataDir) -> None:
    assert listen_address(datadir.appliance_db, None, None) == ("127.0.0.1", 8080)


def test_settings_then_command_line(datadir: DataDir) -> None:
    set_panel(datadir, "0.0.0.0", "8443")

    assert listen_address(datadir.appliance_db, None, None) == ("0.0.0.0", 8443)
    assert listen_address(datadir.appliance_db, "127.0.0.1", 9000) == ("127.0.0.1", 9000)


def test_a_missing_appliance_db_still_gives_an_address(tmp_path: Path) -> None:
    assert listen_address(tmp_path / "appliance.db", None, 9001) == ("127.0.0.1", 9001)
    assert listen_address(tmp_path / "appliance.db", None, None) == ("127.0.0.1", 8080)


def test_ports_outside_the_tcp_range_are_refused() -> None:
    for text in ("0", "65536", "-1", "http"):
        with pytest.raises(ValueError, match="not a port number"):
            port_number(text)


def test_a_bad_port_setting_says_what_to_fix(datadir: DataDir) -> None:
    set_panel(datadir, "127.0.0.1", "eighty")

    with pytest.raises(BadPanelSetting, match=r"panel_port='eighty'.*pass --port"):
        listen_address(datadir.appliance_db, None, None)
