"""The Access page's activity log: its newest records and whether its chain holds."""

from __future__ import annotations

import time
from typing import Any

from nicegui import ui

from appliance.store.access import ActivityRecord
from ui.access_admin import ACTIVITY_LIMIT
from ui.acting import ActingAdmin
from ui.components.access_card import AccessCard
from ui.components.formats import NOTHING
from ui.components.number_table import Column, NumberTable

ACTIVITY_COLUMNS = (
    Column("time", "Time (UTC)"), Column("actor", "Actor"), Column("address", "Address"),
    Column("action", "Action"), Column("outcome", "Outcome"),
)


def activity_record(record: ActivityRecord) -> dict[str, Any]:
    """Return an activity record as a row of the activity table."""
    return {"time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.ts)),
            "actor": record.actor or NOTHING, "address": record.address or NOTHING,
            "action": record.action, "outcome": record.outcome}


class ActivityCard(AccessCard):
    """The newest records of the user-activity log and whether its chain holds."""

    def __init__(self, admin: ActingAdmin) -> None:
        super().__init__(admin, "Activity", "activity-card")
        with self:
            self._chain = ui.label().classes("text-body2").mark("chain")
            self._table = NumberTable(ACTIVITY_COLUMNS, "no activity yet")
            self._table.mark("activity")

    async def refresh(self) -> None:
        """Show the newest records, newest first, and the state of the chain."""
        page = self._admin.newest_activity(ACTIVITY_LIMIT)
        self._chain.set_text("The log's chain is intact." if page.chain == "intact" else
                             f"The log's chain is {page.chain}")
        self._table.show([activity_record(r) for r in reversed(page.records)])
