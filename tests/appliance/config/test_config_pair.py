"""A pair's settings: one model for the form, the API and the worker; bad values say why."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.config.pair import (
    PairSettings,
    SettingsError,
    pair_of,
    pair_settings,
    settings_of,
)
from appliance.store.appliance_db import Pair
from provisioning.const import SPREAD_PARAMS

SPREAD: dict[str, Any] = {"strategy": {"kind": "spread", "params": SPREAD_PARAMS}}


def test_a_stored_pair_reads_back_as_settings_with_every_default_filled() -> None:
    pair = Pair("bot-1", "sim", "MTS/USDT", "spread", SPREAD_PARAMS)
    settings = settings_of(pair)
    assert settings.strategy.kind == "spread" and settings.shadow is False
    assert settings.tolerance.price_ticks == 1 and settings.integrity.min_rest_s == 1.0
    again = pair_of("bot-1", "sim", "MTS/USDT", settings)
    assert settings_of(again) == settings


@pytest.mark.parametrize(("change", "named"), [
    ({"strategy": {"kind": "spread", "params": {**SPREAD_PARAMS, "half_spread_bps": 5000}}},
     "strategy.spread.params.half_spread_bps: Input should be less than or equal to 1000"),
    ({"strategy": {"kind": "martingale", "params": {}}}, "strategy: Input tag 'martingale'"),
    ({"tolerance": {"price_ticks": -1}}, "tolerance.price_ticks: Input should be greater than"),
    ({"integrity": {"max_order_to_trade": 0}}, "integrity.max_order_to_trade"),
    ({"shadow": "sometimes"}, "shadow: Input should be a valid boolean"),
    ({"spread": 3}, "spread: Extra inputs are not permitted"),
])
def test_a_bad_value_names_its_field_and_the_allowed_range(
    change: dict[str, Any], named: str,
) -> None:
    with pytest.raises(SettingsError) as refused:
        pair_settings({**SPREAD, **change})
    assert named in str(refused.value)


def test_the_schema_offers_every_strategy_with_its_parameters_and_limits() -> None:
    schema = PairSettings.model_json_schema()
    kinds = {name for name in schema["$defs"] if name.endswith("Strategy")}
    assert kinds == {"SpreadStrategy", "LadderStrategy", "GridStrategy"}
    half = schema["$defs"]["SpreadParams"]["properties"]["half_spread_bps"]
    assert (half["exclusiveMinimum"], half["maximum"]) == (0, 1000)
