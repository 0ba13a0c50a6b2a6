"""The settings form as its schema makes it: which input each value gets, with what hint,
what the inputs send, and under which input each of the model's errors is shown."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from appliance.config.pair import PairSettings
from appliance.risk.const import TripAction, TripKind
from appliance.risk.limits import RiskLimits
from ui.components.model_form import (
    FieldKind,
    FormField,
    FormSection,
    FormUnion,
    Loc,
    UnsupportedSchema,
    errors_by_place,
    form_of,
    form_payload,
    parts_of,
    widget_values,
)

PAIR = form_of(PairSettings)
RISK = form_of(RiskLimits)
SPREAD = ("strategy", "spread", "params")
SPREAD_PARAMS = {"half_spread_bps": 10, "order_size": "20", "max_inventory": "2000"}
LIMITS = {"max_position": "1000", "max_total_exposure": "5000", "max_drawdown": "250"}


def part(form: FormSection, *loc: str) -> Any:
    """Return the part of a form at loc."""
    (found,) = [p for p in parts_of(form) if p.loc == loc]
    return found


def places(form: FormSection, model: type[BaseModel], raw: dict[str, Any]
           ) -> dict[Loc, list[str]]:
    """Return where the form shows the errors the model finds in raw."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate(raw)
    return errors_by_place(form, refused.value)


def test_every_value_gets_the_input_of_its_type_with_its_range_and_default_as_hint() -> None:
    half_spread = part(PAIR, *SPREAD, "half_spread_bps")
    assert (half_spread.kind, half_spread.label, half_spread.required) == (
        FieldKind.NUMBER, "Half Spread Bps", True)
    assert half_spread.hint == "distance of each quote from mid · 0 < value ≤ 1,000"
    assert part(PAIR, *SPREAD, "band_bps").hint == (
        "no quote further from mid · 0 < value ≤ 5,000 · default 200")
    size = part(PAIR, *SPREAD, "order_size")
    assert (size.kind, size.hint) == (FieldKind.DECIMAL,
                                      "size of each quote, in the base asset · value > 0")
    step = part(PAIR, "strategy", "grid", "params", "step_bps")
    assert (step.kind, step.nullable) == (FieldKind.DECIMAL, True)
    assert step.hint.endswith("0 < value ≤ 1,000 · empty for none")
    assert part(PAIR, "strategy", "ladder", "params", "iqv_down_limit").hint.endswith(
        "-1 ≤ value < 0 · default -0.6")
    assert part(PAIR, "tolerance", "price_ticks").kind is FieldKind.INTEGER
    assert part(PAIR, "shadow").kind is FieldKind.BOOLEAN
    assert part(PAIR, "shadow").hint == "decide and record quotes, but send no order · default off"
    assert part(RISK, "max_orders_per_day").hint == (
        "orders per UTC day · a whole number · 1 ≤ value ≤ 10,000,000 · default 50,000")
    assert part(RISK, "max_position").hint.endswith("0 < value ≤ 1,000,000,000,000,000")


def test_nested_models_are_sections_and_the_strategy_a_choice_of_kinds_in_model_order() -> None:
    strategy = part(PAIR, "strategy")
    assert isinstance(strategy, FormUnion) and strategy.tag == "kind"
    assert list(strategy.variants) == ["spread", "ladder", "grid"]
    params = part(PAIR, *SPREAD)
    assert isinstance(params, FormSection) and params.label == "Params"
    assert [p.name for p in params.parts] == [
        "half_spread_bps", "order_size", "max_inventory", "skew_bps", "band_bps"]
    assert all("kind" not in [p.name for p in variant.parts]
               for variant in strategy.variants.values())
    assert [p.label for p in PAIR.parts] == ["Strategy", "Tolerance", "Integrity", "Shadow"]
    storm = part(RISK, "reject_storm")
    assert isinstance(storm, FormSection) and storm.default == {"count": 10, "window_s": 10.0}


def test_a_mapping_of_trip_kinds_is_a_choice_per_kind_left_empty_for_its_default() -> None:
    actions = part(RISK, "trip_actions")
    assert isinstance(actions, FormSection)
    assert [p.name for p in actions.parts] == [str(kind) for kind in TripKind]
    position = part(RISK, "trip_actions", "position")
    assert isinstance(position, FormField)
    assert (position.kind, position.required) == (FieldKind.CHOICE, False)
    assert position.choices == tuple(str(action) for action in TripAction)
    assert widget_values(RISK, {})[("trip_actions", "position")] is None
    sent = form_payload(RISK, widget_values(RISK, LIMITS))
    assert sent["trip_actions"] == {}


def test_an_empty_form_shows_each_kinds_defaults_and_a_sections_default() -> None:
    shown = widget_values(PAIR, {})
    assert shown[("strategy",)] is None
    assert shown[(*SPREAD, "band_bps")] == 200
    assert shown[(*SPREAD, "half_spread_bps")] is None
    assert shown[(*SPREAD, "order_size")] == ""
    assert shown[("strategy", "ladder", "params", "init_iqv_ratio")] == "0.5"
    assert shown[("shadow",)] is False
    risk = widget_values(RISK, {})
    assert (risk[("reject_storm", "count")], risk[("insufficient_balance", "window_s")]) == (
        10, 60.0)


@pytest.mark.parametrize("raw", [
    {"strategy": {"kind": "spread", "params": SPREAD_PARAMS}, "shadow": True,
     "tolerance": {"price_ticks": 3}},
    {"strategy": {"kind": "ladder", "params": {
        "bin_step": 20, "price_down_pct_limit": "0.02", "price_up_pct_limit": "0.03",
        "bid_size": "100", "ask_size": "90", "iqv_up_limit": "0.7"}}},
    {"strategy": {"kind": "grid", "params": {"levels": 4, "order_size": "5",
                                             "step_bps": "15"}}},
    {"strategy": {"kind": "grid", "params": {"levels": 4, "order_size": "5",
                                             "volatility_bps": "12",
                                             "volatility_multiple": "2"}}},
])
def test_stored_settings_shown_and_sent_back_unchanged_are_the_same_settings(
    raw: dict[str, Any],
) -> None:
    settings = PairSettings.model_validate(raw)
    shown = widget_values(PAIR, settings.model_dump(mode="json"))
    assert shown[("strategy",)] == raw["strategy"]["kind"]
    assert PairSettings.model_validate(form_payload(PAIR, shown)) == settings


def test_risk_limits_shown_and_sent_back_are_the_same_limits() -> None:
    limits = RiskLimits.model_validate({**LIMITS, "trip_actions": {"drawdown": "pause"}})
    shown = widget_values(RISK, limits.model_dump(mode="json"))
    assert RiskLimits.model_validate(form_payload(RISK, shown)) == limits


def test_empty_inputs_and_defaults_are_left_to_the_model_and_whole_numbers_sent_as_such(
) -> None:
    values = widget_values(PAIR, {"strategy": {"kind": "grid", "params": {}}})
    grid = ("strategy", "grid", "params")
    values.update({(*grid, "levels"): 3.0, (*grid, "order_size"): " 7 ",
                   (*grid, "step_bps"): "10", (*grid, "volatility_multiple"): "1.0",
                   ("tolerance", "price_ticks"): 2.0})
    assert form_payload(PAIR, values) == {
        "strategy": {"kind": "grid", "params": {"levels": 3, "order_size": "7",
                                                "step_bps": "10"}},
        "tolerance": {"price_ticks": 2}, "integrity": {}}
    values[(*grid, "step_bps")] = "  "
    assert "step_bps" not in form_payload(PAIR, values)["strategy"]["params"]
    values[("strategy",)] = None
    assert form_payload(PAIR, values)["strategy"] == {}


def test_a_bad_value_is_placed_under_its_own_input() -> None:
    values = widget_values(PAIR, {"strategy": {"kind": "spread", "params": SPREAD_PARAMS}})
    values.update({(*SPREAD, "half_spread_bps"): 0, (*SPREAD, "order_size"): "lots",
                   (*SPREAD, "max_inventory"): "", ("tolerance", "price_ticks"): 1.5})
    assert places(PAIR, PairSettings, form_payload(PAIR, values)) == {
        (*SPREAD, "half_spread_bps"): ["Input should be greater than 0"],
        (*SPREAD, "order_size"): ["Input should be a valid decimal"],
        (*SPREAD, "max_inventory"): ["Field required"],
        ("tolerance", "price_ticks"): [
            "Input should be a valid integer, got a number with a fractional part"],
    }


def test_an_error_of_several_values_is_placed_under_their_section() -> None:
    raw = {"strategy": {"kind": "spread", "params": {**SPREAD_PARAMS, "band_bps": 5}}}
    assert places(PAIR, PairSettings, raw) == {SPREAD: [
        "half_spread_bps + skew_bps must not exceed band_bps; narrow the spread or the skew, "
        "or widen the band"]}
    grid = {"strategy": {"kind": "grid", "params": {"levels": 2, "order_size": "1"}}}
    assert list(places(PAIR, PairSettings, grid)) == [("strategy", "grid", "params")]


def test_a_missing_or_unknown_kind_is_placed_under_the_kind_selector() -> None:
    for strategy in ({}, {"kind": "hedge", "params": {}}):
        assert places(PAIR, PairSettings, {"strategy": strategy}) == {
            ("strategy",): ["choose one of: spread, ladder, grid"]}


def test_what_no_input_holds_is_placed_at_the_nearest_section_with_its_path() -> None:
    raw = {**LIMITS, "trip_actions": {"meltdown": "halt"}, "colour": "red"}
    found = places(RISK, RiskLimits, raw)
    assert found[()] == ["colour: Extra inputs are not permitted"]
    (message,) = found[("trip_actions",)]
    assert message.startswith("meltdown: Input should be 'position', 'exposure'")


def test_a_model_with_a_value_the_form_cannot_show_is_refused_by_name() -> None:
    class Watchlist(BaseModel):
        symbols: list[str]

    with pytest.raises(UnsupportedSchema, match="symbols: the form cannot show a value of "
                       "type 'array'"):
        form_of(Watchlist)
