"""Where every piece of the box's state lives inside its data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    """The box's data directory (`/data` in the image, `./var` in development)."""

    root: Path

    @property
    def license(self) -> Path:
        """Return the vendor-signed license manifest."""
        return self.root / "license.json"

    @property
    def appliance_db(self) -> Path:
        """Return the supervisor's database."""
        return self.root / "appliance.db"

    @property
    def bots(self) -> Path:
        """Return the folder holding one folder per bot."""
        return self.root / "bots"

    def bot(self, name: str) -> Path:
        """Return one bot's private folder."""
        return self.bots / name

    def events_db(self, bot: str) -> Path:
        """Return one bot's append-only event log."""
        return self.bot(bot) / "events.db"

    def api_log(self, bot: str) -> Path:
        """Return one bot's log of its exchange requests (rotated to `api.log.1`)."""
        return self.bot(bot) / "api.log"

    def inputs_dir(self, bot: str) -> Path:
        """Return one bot's input journal: the inputs of its decisions, in segments for replay."""
        return self.bot(bot) / "inputs"

    @property
    def hsm(self) -> Path:
        """Return the signer's folder: token files, SoftHSM config, development PIN."""
        return self.root / "hsm"

    @property
    def softhsm_conf(self) -> Path:
        """Return the private SoftHSM2 configuration."""
        return self.hsm / "softhsm2.conf"

    @property
    def pin_file(self) -> Path:
        """Return the development box's user PIN file (mode 0600; never on a production box)."""
        return self.hsm / "user.pin"

    @property
    def run(self) -> Path:
        """Return the folder of the box's Unix sockets."""
        return self.root / "run"

    @property
    def signer_sock(self) -> Path:
        """Return the signer's socket."""
        return self.run / "signer.sock"

    @property
    def control_sock(self) -> Path:
        """Return the supervisor's control socket."""
        return self.run / "control.sock"

    @property
    def panel_storage(self) -> Path:
        """Return the panel's own scratch folder (NiceGUI's storage)."""
        return self.run / "panel"

    @property
    def tls_dir(self) -> Path:
        """Return the panel's TLS folder (mode 0700, the panel's own)."""
        return self.root / "tls"

    @property
    def panel_key(self) -> Path:
        """Return the panel's TLS private key (mode 0600, readable by the panel alone)."""
        return self.tls_dir / "panel.key"

    @property
    def panel_cert(self) -> Path:
        """Return the panel's self-signed TLS certificate (mode 0644)."""
        return self.tls_dir / "panel.crt"

    @property
    def logs(self) -> Path:
        """Return the folder of process logs."""
        return self.root / "logs"

    def log(self, process: str) -> Path:
        """Return one process's log file."""
        return self.logs / f"{process}.log"
