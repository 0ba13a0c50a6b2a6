"""What every page and route of the panel reads from and talks to."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.datadir import DataDir
from ui.snapshot import BoxReader
from ui.supervisor import Supervisor


@dataclass(frozen=True)
class Panel:
    """The one reader of the box's stores and the client of its supervisor."""

    reader: BoxReader
    supervisor: Supervisor

    @classmethod
    def of(cls, datadir: DataDir) -> Panel:
        """Return the panel of a data directory."""
        return cls(BoxReader(datadir), Supervisor(datadir.control_sock))
