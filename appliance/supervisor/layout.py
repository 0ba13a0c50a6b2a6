"""Give every child's part of the data directory to that child's account, and no more."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.alerts.const import STATE_FOLDER as ALERTS_FOLDER
from appliance.datadir import DataDir
from appliance.supervisor.const import READERS_GID
from hsm.const import AUDIT_FILE


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)


def _own_tree(root: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(Path(folder) / name, uid, gid, follow_symlinks=False)
    os.chown(root, uid, gid)


def _own_panel_tls(data: DataDir, panel_uid: int) -> None:
    """Give the panel its TLS folder (0700) and key (0600); the certificate stays 0644."""
    if not data.tls_dir.exists():
        return  # the panel refuses to start and says to provision the box
    _own(data.tls_dir, panel_uid, panel_uid, 0o700)
    if data.panel_key.exists():
        _own(data.panel_key, panel_uid, panel_uid, 0o600)
    if data.panel_cert.exists():
        _own(data.panel_cert, panel_uid, panel_uid, 0o644)


def prepare(data: DataDir, signer_uid: int, panel_uid: int, bot_uids: dict[str, int],
            alerts_uid: int | None = None) -> None:
    """Create the folders the children write to and, as root, hand each its own."""
    alerts = data.root / ALERTS_FOLDER
    for folder in (data.root, data.hsm, data.run, data.panel_storage, data.logs, data.bots,
                   *([alerts] if alerts_uid is not None else [])):
        folder.mkdir(parents=True, exist_ok=True)
    for bot in bot_uids:
        data.bot(bot).mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    _own(data.root, 0, 0, 0o755)
    _own(data.bots, 0, 0, 0o755)
    # The readers (the panel, the alerts process) may read the logs: none holds a secret.
    _own(data.logs, 0, READERS_GID, 0o750)
    # The signer creates its socket in run/; the supervisor (root) creates its own there too.
    _own(data.run, signer_uid, signer_uid, 0o755)
    _own(data.panel_storage, panel_uid, panel_uid, 0o700)
    if alerts_uid is not None:
        _own_tree(alerts, alerts_uid, alerts_uid)
        os.chmod(alerts, 0o700)
    _own_panel_tls(data, panel_uid)
    _own_tree(data.hsm, signer_uid, signer_uid)
    # The readers may pass through the signer's folder to its audit log, which holds no secret
    # (the token's own files stay the signer's alone), and read nothing else there.
    _own(data.hsm, signer_uid, READERS_GID, 0o710)
    audit = data.hsm / AUDIT_FILE
    audit.touch(exist_ok=True)  # made here, so the signer appends to a file the readers may read
    _own(audit, signer_uid, READERS_GID, 0o640)
    for bot, uid in bot_uids.items():
        _own_tree(data.bot(bot), uid, uid)
        os.chmod(data.bot(bot), 0o750)
    for db_file in data.root.glob(data.appliance_db.name + "*"):
        _own(db_file, 0, READERS_GID, 0o640)
    if data.license.exists():
        _own(data.license, 0, 0, 0o644)
