"""The system page at '/system': what this box is, the certificate it serves, and its lock.

For anyone logged in: the license's serial, asset, tier and kind (the supervisor refuses to
start on a license that does not verify, so the panel shows the one it accepted), the panel
certificate's SHA-256 fingerprint to compare with the browser's, and whether the box token is
locked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC

from cryptography import x509
from fastapi import Request
from nicegui import ui

from appliance.datadir import DataDir
from appliance.ipc import IpcError
from provisioning.tls import fingerprint
from ui.auth.guard import page_visitor
from ui.panel import Panel

LICENSE_FIELDS = (("serial", "Serial"), ("asset", "Asset"), ("tier", "Tier"),
                  ("kind", "Kind"), ("issued_at", "Licensed"), ("valid_until", "Valid until"))


@dataclass(frozen=True)
class Certificate:
    """What an operator checks of the panel's certificate."""

    fingerprint: str
    names: tuple[str, ...]
    not_after: str


def panel_certificate(datadir: DataDir) -> Certificate | None:
    """Return the panel certificate's fingerprint, names and expiry; None if unreadable."""
    try:
        certificate = x509.load_pem_x509_certificate(datadir.panel_cert.read_bytes())
    except (OSError, ValueError):
        return None
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        shown = tuple(str(name.value) for name in names.value)
    except x509.ExtensionNotFound:
        shown = ()
    expiry = certificate.not_valid_after_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Certificate(fingerprint(certificate), shown, expiry)


def license_facts(datadir: DataDir) -> dict[str, str]:
    """Return the license manifest's shown fields; empty when it cannot be read."""
    try:
        manifest = json.loads(datadir.license.read_text(encoding="utf-8"))["manifest"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(manifest, dict):
        return {}
    facts = {key: str(manifest.get(key, "")) for key, _ in LICENSE_FIELDS}
    facts["kind"] = facts["kind"] or "production"
    return facts


def add_system(panel: Panel, datadir: DataDir) -> None:
    """Serve the system page at '/system' to every session."""

    @ui.page("/system")
    async def system(request: Request) -> None:
        _, session = page_visitor(request, "the system page")
        panel.watch.attach(session, ui.context.client)
        ui.query("body").classes("bg-grey-2")
        with ui.header().classes("items-center bg-blue-grey-9 px-6 gap-4"):
            ui.link("MMBox", "/").classes("text-h6 text-white no-underline")
            ui.label("system").classes("text-subtitle1 text-blue-grey-2")
        with ui.column().classes("w-full max-w-screen-md mx-auto gap-4 q-pa-md"):
            with ui.card().classes("w-full"):
                ui.label("This box").classes("text-h6")
                facts = license_facts(datadir)
                if not facts:
                    ui.label(f"The license at {datadir.license} cannot be read.")
                for key, title in LICENSE_FIELDS:
                    if facts:
                        _fact(title, facts[key])
            with ui.card().classes("w-full"):
                ui.label("Panel certificate").classes("text-h6")
                certificate = panel_certificate(datadir)
                if certificate is None:
                    ui.label(f"The certificate at {datadir.panel_cert} cannot be read.")
                else:
                    _fact("SHA-256 fingerprint", certificate.fingerprint).mark("fingerprint")
                    _fact("Names", ", ".join(certificate.names))
                    _fact("Valid until", certificate.not_after)
                    ui.label("Compare the fingerprint with the one your browser shows for this "
                             "page before trusting it.").classes("text-caption")
            with ui.card().classes("w-full"):
                ui.label("Box token").classes("text-h6")
                try:
                    locked = bool((await panel.signer.status()).get("locked"))
                    _fact("State", "locked: no bot trades until an owner unlocks it"
                          if locked else "unlocked")
                except IpcError as exc:
                    _fact("State", f"unknown: the signer does not answer ({exc.message})")


def _fact(title: str, value: str) -> ui.label:
    with ui.row().classes("w-full gap-4 no-wrap"):
        ui.label(title).classes("text-grey-7 w-48 shrink-0")
        shown = ui.label(value).classes("font-mono break-all")
    return shown
