"""The owner's recorder settings become limits, or an error that says how to fix them."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.recorder.limits import RecorderConfigError, RecorderLimits, recorder_limits
from appliance.store.appliance_db import create_schema, put_setting, settings
from appliance.store.database import open_writer


def stored(tmp_path: Path, **values: str) -> dict[str, str]:
    """Return the settings of an appliance.db holding `values`."""
    db = open_writer(tmp_path / "appliance.db")
    create_schema(db)
    for key, value in values.items():
        put_setting(db, key, value)
    return settings(db)


def test_missing_settings_keep_the_defaults(tmp_path: Path) -> None:
    assert recorder_limits(stored(tmp_path, panel_port="8443")) == RecorderLimits(
        days=7, mib=2048)


def test_the_stored_settings_set_the_limits(tmp_path: Path) -> None:
    limits = recorder_limits(stored(tmp_path, recorder_days="30", recorder_mib="8192"))
    assert limits == RecorderLimits(days=30, mib=8192)


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("recorder_days", "0", "from 1 to 365, or remove it to keep the default 7"),
    ("recorder_days", "a week", "from 1 to 365, or remove it to keep the default 7"),
    ("recorder_mib", "10", "from 64 to 65536, or remove it to keep the default 2048"),
    ("recorder_mib", "1e6", "from 64 to 65536, or remove it to keep the default 2048"),
])
def test_a_bad_setting_is_named_with_the_values_it_allows(
    tmp_path: Path, key: str, value: str, allowed: str
) -> None:
    with pytest.raises(RecorderConfigError) as raised:
        recorder_limits(stored(tmp_path, **{key: value}))
    assert str(raised.value).startswith(f"setting {key} = {value!r}: ")
    assert str(raised.value).endswith(f"set it to a whole number {allowed}")


def test_every_limit_is_described_for_the_form_and_the_api_schema() -> None:
    fields = RecorderLimits.model_json_schema()["properties"]
    assert set(fields) == {"days", "mib"}
    assert all(field["description"] for field in fields.values())
