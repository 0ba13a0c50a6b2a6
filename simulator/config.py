"""How one run of the simulator behaves: its outside market, faults and rate limits.

Read from an optional JSON file (`--config`) of sections `market`, `faults` and `limits`,
then `--set SECTION.NAME=VALUE` settings on top; validated every time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from simulator.faults import FaultPlan
from simulator.limits import RateLimits
from simulator.market import MarketProfile


class RunConfig(BaseModel):
    """Everything about a run that is not its accounts, markets or seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    market: MarketProfile = MarketProfile()
    faults: FaultPlan = FaultPlan()
    limits: RateLimits = RateLimits()


class ConfigError(ValueError):
    """The run's configuration cannot be used; the message says what to fix."""


def load_config(path: Path | None, settings: list[str]) -> RunConfig:
    """Return the run's configuration from a JSON file and `SECTION.NAME=VALUE` settings."""
    document = _read(path) if path is not None else {}
    for setting in settings:
        section, name, value = _parse_setting(setting)
        part = document.setdefault(section, {})
        if not isinstance(part, dict):
            raise ConfigError(f"section '{section}' of {path} must be a JSON object")
        part[name] = value
    try:
        return RunConfig.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(
            f"configuration is not valid ({problems}); fix --config or --set"
        ) from None


def _read(path: Path) -> dict[str, Any]:
    """Return the JSON object of a configuration file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read configuration {path} ({exc}); give a JSON file") from None
    if not isinstance(document, dict):
        raise ConfigError(f"configuration {path} must be a JSON object of sections")
    return document


def _parse_setting(setting: str) -> tuple[str, str, Any]:
    """Return the section, name and value of `SECTION.NAME=VALUE`; a JSON value is parsed."""
    key, separator, text = setting.partition("=")
    section, dot, name = key.partition(".")
    if not separator or not dot or not section or not name:
        raise ConfigError(
            f"setting '{setting}' is not SECTION.NAME=VALUE, e.g. faults.latency_ms=50"
        )
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    return section, name, value
