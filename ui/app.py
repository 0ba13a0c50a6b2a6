"""Build the panel on NiceGUI's app and run it."""

from __future__ import annotations

from nicegui import app, ui

from appliance.datadir import DataDir
from ui.api import api_router
from ui.ip_guard import Allowlist, IpGuard
from ui.pages.dashboard import add_dashboard
from ui.panel import Panel


def build_panel(datadir: DataDir) -> Panel:
    """Add the IP guard, the REST API and the dashboard to NiceGUI's app."""
    panel = Panel.of(datadir)
    app.add_middleware(IpGuard, allowlist=Allowlist(datadir.appliance_db))
    app.include_router(api_router(panel))
    add_dashboard(panel)
    return panel


def run_panel(datadir: DataDir, host: str, port: int) -> None:
    """Serve the panel on host:port until the process is told to stop."""
    build_panel(datadir)
    ui.run(
        host=host, port=port, proxy_headers=False, reload=False, show=False, title="MMBox",
    )
