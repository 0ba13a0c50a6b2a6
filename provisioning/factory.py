"""Make a box's data directory: token, device key, license, and its first configuration.

Everything is built in a staging folder and moved into place at the end, so a failed
provisioning leaves no half-made data directory. A box is provisioned once it has a license.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.datadir import DataDir
from appliance.license import BoxKind
from appliance.store import access
from appliance.store.access import Role, User
from appliance.store.appliance_db import create_schema, put_setting
from appliance.store.atomic import write_atomic
from appliance.store.database import open_writer
from hsm.const import DEFAULT_TOKEN_LABEL, DEVICE_KEY_LABEL
from hsm.enrol import fingerprint
from hsm.operator_key import as_operator_key
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import Token
from provisioning import const
from provisioning.license import issue_license
from provisioning.tls import make_panel_certificate


class ProvisioningError(Exception):
    """The box cannot be provisioned as asked; the message says what to do."""


@dataclass(frozen=True)
class BoxSpec:
    """What the factory makes: the locked asset, the tier and where the box trades.

    With no `exchange_url` the box has no exchange account or pair: its owner adds them in
    the panel's first-run wizard. A development box trades on the simulator at that URL.
    """

    exchange_url: str | None
    asset: str = const.DEFAULT_ASSET
    tier: str = const.DEFAULT_TIER
    panel_port: int = const.PANEL_PORT
    serial: str = field(default_factory=lambda: f"MMB-{secrets.token_hex(4).upper()}")
    kind: BoxKind = BoxKind.PRODUCTION


@dataclass(frozen=True)
class ExchangeCredential:
    """An exchange API key and its secret, on their way into the token."""

    bot: str
    api_key: str
    secret: str = field(repr=False)
    exchange: str = const.EXCHANGE

    @property
    def label(self) -> str:
        """Return the label of the secret's key in the token."""
        return f"{self.bot}.{self.exchange}.hmac"


def is_provisioned(data: DataDir) -> bool:
    """Tell whether a data directory already holds a box (it has a license)."""
    return data.license.exists()


@dataclass(frozen=True)
class Provisioned:
    """What the factory tells about a box it made: the fingerprint the operator checks."""

    fingerprint: str
    """The panel certificate's SHA-256 fingerprint, as a browser shows it."""


def provision(
    data: DataDir, spec: BoxSpec, vendor_key: Ed25519PrivateKey, user_pin: str,
    credentials: list[ExchangeCredential], *, keep_user_pin: bool = False,
) -> Provisioned:
    """Provision data: token, device key, exchange secrets, license, appliance.db, TLS key.

    With keep_user_pin the user PIN is stored in `hsm/user.pin` (mode 0600), which only a
    development box does: a production box never stores its PIN, the operator supplies it.
    """
    if is_provisioned(data):
        raise ProvisioningError(f"{data.root} is already provisioned; it was left alone")
    with _staged(data.root) as stage:
        device_public_key = _make_token(stage, user_pin, credentials)
        license_text = issue_license(vendor_key, serial=spec.serial, asset=spec.asset,
                                     tier=spec.tier, device_public_key=device_public_key,
                                     kind=spec.kind)
        write_atomic(stage.license, license_text.encode(), 0o644)
        _write_database(stage.appliance_db, spec, credentials)
        if keep_user_pin:
            write_atomic(stage.pin_file, f"{user_pin}\n".encode(), 0o600)
        fingerprint = make_panel_certificate(stage, [const.PANEL_HOST, "localhost"],
                                             serial=spec.serial)
    use_config(data)
    return Provisioned(fingerprint)


def enrol_user(data: DataDir, name: str, role: Role, public_key_pem: str, usb_serial: str,
               token: dict[str, str]) -> User:
    """Enrol an operator key for a user before the box first starts: its first owner, say.

    `token` names where the key pair is, as the signer's login takes it (token_label,
    token_serial, key_id, key_label). The supervisor is not running yet, so this writes
    appliance.db itself, as the rest of provisioning does.
    """
    public = as_operator_key(load_pem_public_key(public_key_pem.encode()))
    owner = User(fingerprint(public), name, role, public_key_pem, usb_serial,
                 token.get("token_label"), token.get("token_serial"), token.get("key_id"),
                 token.get("key_label"), time.time())
    db = open_writer(data.appliance_db)
    try:
        access.put_user(db, owner)
    finally:
        db.close()
    return owner


def _make_token(stage: DataDir, user_pin: str, credentials: list[ExchangeCredential]) -> bytes:
    """Create the token, its device key and its exchange keys; return the device public key."""
    stage.hsm.mkdir(mode=0o700)
    init_token(stage, DEFAULT_TOKEN_LABEL, secrets.token_hex(16), user_pin)
    use_config(stage)
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, user_pin) as token:
        device_public_key = token.generate_ed25519(DEVICE_KEY_LABEL)
        for credential in credentials:
            token.import_hmac(credential.label, credential.secret.encode())
    return device_public_key


def _write_database(path: Path, spec: BoxSpec, credentials: list[ExchangeCredential]) -> None:
    """Create appliance.db with the box's first configuration."""
    db = open_writer(path)
    try:
        create_schema(db)
        for key, value in _settings(spec).items():
            put_setting(db, key, value)
        db.table("bots").insert_all(
            {"name": bot, "uid": uid, "enabled": 1, "risk": json.dumps(const.RISK_LIMITS)}
            for bot, uid in const.BOT_UIDS.items()
        )
        db.table("allowlist").insert_all({"cidr": cidr} for cidr in const.ALLOWLIST)
        if spec.exchange_url is None:
            return
        db.table("exchanges").insert({"name": const.EXCHANGE, "ccxt_id": const.EXCHANGE_CCXT_ID,
                                "api_url": spec.exchange_url})
        db.table("pairs").insert_all(
            {"bot": bot, "exchange": const.EXCHANGE, "symbol": f"{spec.asset}/{quote}",
             "strategy": const.STRATEGY, "params": json.dumps(const.SPREAD_PARAMS)}
            for bot, quote in const.BOT_QUOTES.items()
        )
        db.table("keys").insert_all(
            {"label": c.label, "exchange": c.exchange, "bot": c.bot, "kind": "hmac",
             "api_key": c.api_key}
            for c in credentials
        )
    finally:
        db.close()


def _settings(spec: BoxSpec) -> dict[str, str]:
    """Return the box-wide settings."""
    return {
        "asset": spec.asset,
        "panel_host": const.PANEL_HOST,
        "panel_port": str(spec.panel_port),
        "signer_uid": str(const.SIGNER_UID),
        "panel_uid": str(const.PANEL_UID),
        "alerts_uid": str(const.ALERTS_UID),
        "token_label": DEFAULT_TOKEN_LABEL,
        "device_key_label": DEVICE_KEY_LABEL,
    }


@contextmanager
def _staged(root: Path) -> Iterator[DataDir]:
    """Yield a staging data dir that becomes root when the block succeeds, and vanishes if not.

    A root that does not exist yet is replaced in one rename. An existing empty root (a
    mount point, say) receives the staged entries one by one, the license last.
    """
    root = root.absolute()
    if root.exists() and any(root.iterdir()):
        raise ProvisioningError(f"{root} is not empty but holds no license; move it away "
                                "or provision another directory")
    parent = root if root.exists() else root.parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{root.name}.provisioning-", dir=parent))
    try:
        stage.chmod(0o755)
        yield DataDir(stage)
        _commit(stage, root)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _commit(stage: Path, root: Path) -> None:
    """Move the staged data dir into place."""
    if not root.exists():
        stage.rename(root)
        return
    license_name = DataDir(root).license.name
    for entry in sorted(stage.iterdir(), key=lambda entry: entry.name == license_name):
        entry.rename(root / entry.name)
    stage.rmdir()
