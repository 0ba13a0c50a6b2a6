"""Build the panel on NiceGUI's app and run it."""

from __future__ import annotations

from nicegui import app, background_tasks, ui

from appliance.datadir import DataDir
from ui.api import api_router
from ui.api_access import access_router
from ui.auth.guard import AuthGuard
from ui.headers import SecurityHeaders
from ui.ip_guard import Allowlist, IpGuard
from ui.pages.access import add_access
from ui.pages.dashboard import add_dashboard
from ui.pages.login import login_router
from ui.pages.system import add_system
from ui.panel import Panel


class NoPanelCertificate(FileNotFoundError):
    """The box has no TLS key or certificate, and the panel never serves plain HTTP."""


def build_panel(datadir: DataDir, *, development: bool = False) -> Panel:
    """Add the guards, the security headers, the REST API and the pages to NiceGUI's app.

    From the outside in: the security headers, the IP guard, then the auth guard, so nobody
    off the allowlist reaches the login page and every answer carries the headers. The panel is
    kept in `app.state.panel` for whatever is added to the app later.
    """
    panel = Panel.of(datadir, development=development)
    app.state.panel = panel
    app.add_middleware(AuthGuard, sessions=panel.sessions, tokens=panel.accounts.token,
                       record=panel.supervisor.record_activity)
    app.add_middleware(IpGuard, allowlist=Allowlist(datadir.appliance_db))
    app.add_middleware(SecurityHeaders)
    app.include_router(login_router(panel))
    app.include_router(api_router(panel))
    app.include_router(access_router(panel))
    add_dashboard(panel)
    add_system(panel, datadir)
    add_access(panel)
    app.on_startup(lambda: background_tasks.create(panel.watch.run(), name="session watch"))
    return panel


def check_certificate(datadir: DataDir) -> None:
    """Raise NoPanelCertificate unless the box's TLS key and certificate are in place."""
    for path in (datadir.panel_cert, datadir.panel_key):
        if not path.is_file():
            raise NoPanelCertificate(
                f"{path} is missing: the panel serves HTTPS only, with the certificate made "
                "when the box is provisioned; provision the box (a development box: "
                "python -m provisioning.devbox provision)")


def run_panel(datadir: DataDir, host: str, port: int, *, development: bool = False) -> None:
    """Serve the panel over HTTPS on host:port until the process is told to stop."""
    check_certificate(datadir)
    build_panel(datadir, development=development)
    ui.run(
        host=host, port=port, proxy_headers=False, reload=False, show=False, title="MMBox",
        ssl_certfile=str(datadir.panel_cert), ssl_keyfile=str(datadir.panel_key),
    )
