"""How much of its input journal each bot keeps, as the owner set it in `appliance.db`.

A bot records about 1 KB per 20-level book update: at 3 to 5 updates a second that is 250 to
430 MB a day for one pair, so 2 GiB holds 5 to 8 days of it. The size bound keeps a busy bot
within 4 GiB for the box's two bots; the 7-day bound frees the disk of quieter ones.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

SETTINGS = {"recorder_days": "days", "recorder_mib": "mib"}
"""The key in the `settings` table of each limit."""


class RecorderConfigError(Exception):
    """A recorder setting in `appliance.db` is not a number the recorder can use."""


class RecorderLimits(BaseModel):
    """How much of its input journal a bot keeps; the oldest segments are deleted first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(
        default=7, ge=1, le=365,
        description="days of recorded inputs each bot keeps for replay")
    mib: int = Field(
        default=2048, ge=64, le=65_536,
        description="MiB of recorded inputs each bot keeps on the box's disk")


def recorder_limits(settings: dict[str, str]) -> RecorderLimits:
    """Return the limits the settings hold, a default for each one missing, or say what to fix."""
    values = {field: settings[key] for key, field in SETTINGS.items() if key in settings}
    try:
        return RecorderLimits.model_validate(values)
    except ValidationError as exc:
        raise RecorderConfigError("; ".join(_explain(error) for error in exc.errors())) from None


def _explain(error: ErrorDetails) -> str:
    """Return one validation error as the setting, its value, and the values it allows."""
    field = str(error["loc"][0])
    key = next(key for key, name in SETTINGS.items() if name == field)
    allowed = RecorderLimits.model_json_schema()["properties"][field]
    return (f"setting {key} = {error['input']!r}: {error['msg']}; set it to a whole number "
            f"from {allowed['minimum']} to {allowed['maximum']}, or remove it to keep the "
            f"default {allowed['default']}")
