"""The license's end: told 30, 7 and 1 days before, and when it has come, once each."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from appliance.alerts.alert import AlertKind, Severity
from appliance.alerts.sources.license_end import DAY_S, LicenseEndWatch

END = "2027-03-01T12:00:00Z"
AT = datetime(2027, 3, 1, 12, tzinfo=UTC).timestamp()


def license_file(tmp_path: Path, end: str | None) -> Path:
    manifest = {"serial": "MMB-1", "issued_at": "2026-03-01T12:00:00Z"}
    if end is not None:
        manifest["valid_until"] = end
    path = tmp_path / "license.json"
    path.write_text(json.dumps({"manifest": manifest, "signature": "x"}))
    return path


def test_the_end_is_told_at_each_step_once(tmp_path: Path) -> None:
    watch = LicenseEndWatch(license_file(tmp_path, END), None)
    assert watch.poll(AT - 40 * DAY_S) == []
    (month,) = watch.poll(AT - 29 * DAY_S)
    assert month.kind is AlertKind.LICENSE_END and month.severity is Severity.WARNING
    assert "ends in 29 day(s)" in month.text
    assert watch.poll(AT - 20 * DAY_S) == [], "the 30-day step is told once"
    (week,) = watch.poll(AT - 6 * DAY_S)
    assert "ends in 6 day(s)" in week.text
    (day,) = watch.poll(AT - 0.5 * DAY_S)
    (ended,) = watch.poll(AT + 1)
    assert ended.severity is Severity.CRITICAL and "ended on 2027-03-01T12:00:00Z" in ended.text
    assert watch.poll(AT + DAY_S) == []
    again = LicenseEndWatch(license_file(tmp_path, END), watch.bookmark())
    assert again.poll(AT + 2 * DAY_S) == [], "a restart of the alerts process tells nothing twice"
    assert len({a.id for a in (month, week, day, ended)}) == 4


def test_a_renewed_license_is_told_afresh(tmp_path: Path) -> None:
    watch = LicenseEndWatch(license_file(tmp_path, END), None)
    assert watch.poll(AT - 10 * DAY_S)
    license_file(tmp_path, "2028-03-01T12:00:00Z")
    assert watch.poll(AT - 9 * DAY_S) == []
    assert watch.poll(AT + 360 * DAY_S), "the new end's 30-day step"


def test_a_license_without_an_end_or_unreadable_tells_nothing(tmp_path: Path) -> None:
    assert LicenseEndWatch(license_file(tmp_path, None), None).poll(AT) == []
    assert LicenseEndWatch(tmp_path / "missing.json", None).poll(AT) == []
