"""The system page: the box's license, the panel certificate's fingerprint, the token's lock."""

from __future__ import annotations

from nicegui.testing.user import User

from appliance.datadir import DataDir
from provisioning.tls import certificate_fingerprint
from tests.ui.conftest import log_in
from tests.ui.panel_box import OPERATOR
from ui.auth.guard import SESSION_COOKIE


async def test_every_session_sees_the_certificate_fingerprint_it_should_compare(
    user: User, datadir: DataDir,
) -> None:
    user.http_client.cookies.delete(SESSION_COOKIE)
    log_in(user, OPERATOR)
    await user.open("/system")
    await user.should_see(certificate_fingerprint(datadir.panel_cert))
    await user.should_see("127.0.0.1")
    await user.should_see("unknown: the signer does not answer")


async def test_the_dashboard_links_to_the_system_page(user: User) -> None:
    await user.open("/")
    await user.should_see("System")
