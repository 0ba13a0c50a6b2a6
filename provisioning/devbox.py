"""The development box: provision a data directory that trades on a local simulator, and run it.

`python -m provisioning.devbox provision --data DIR --exchange-url URL [--panel-port 8080]
[--asset MTS] [--vendor-dir .devvendor]` opens one simulator account per bot, puts each
account's secret into the token and forgets it, and keeps the token's user PIN in
`hsm/user.pin` so the box can start unattended — which a production box never does. Its
license says it is a development box, and it gets a software operator key (token
`dev-key-1`, PIN in `hsm/dev-key.pin`) in place of a USB one.

`python -m provisioning.devbox run --data DIR --simdata DIR` starts the simulator, provisions
DIR if it is not yet a box, starts the box and prints the panel's URL; Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from appliance.datadir import DataDir
from appliance.license import TIERS, BoxKind, LicenseError
from appliance.store import access
from appliance.store.access import ApiToken, Role, TokenScope, User
from appliance.store.database import open_writer
from hsm.softhsm import TokenInitError
from hsm.softkeys import DEV_KEY_PIN_FILE, soft_device
from hsm.token import TokenError
from provisioning import const, devrun
from provisioning.devkey import DEFAULT_DEV_KEY, DevKeyError, enrol_dev_key, make_dev_key
from provisioning.factory import (
    BoxSpec,
    ProvisioningError,
    is_provisioned,
    provision,
)
from provisioning.sim_accounts import SimulatorError, open_account
from provisioning.tls import certificate_fingerprint
from provisioning.vendor import (
    DEV_VENDOR_DIR,
    PUBLIC_FILE,
    VendorKeyError,
    init_vendor,
    load_vendor_key,
)
from ui.auth.tokens import NewToken, new_token

STARTING_BALANCES = {"USDT": "20000", "USDC": "20000"}
ASSET_BALANCE = "10000"
DEV_OWNER = "owner"
"""The name the development box's software key is enrolled under."""
DEV_TOKEN_DAYS = 366

Command = Callable[[argparse.Namespace], int]
FAILURES = (ProvisioningError, SimulatorError, VendorKeyError, LicenseError, TokenInitError,
            TokenError, DevKeyError)


def provision_devbox(args: argparse.Namespace) -> int:
    """Provision args.data as a development box, unless it already is one."""
    data = DataDir(args.data)
    if is_provisioned(data):
        print(f"{data.root} is already provisioned ({data.license.name} exists); left alone")
        return 0
    init_vendor(args.vendor_dir)
    vendor_key = load_vendor_key(args.vendor_dir)
    balances = {args.asset: ASSET_BALANCE, **STARTING_BALANCES}
    credentials = ([] if args.no_account else
                   [open_account(args.exchange_url, bot, balances) for bot in const.BOT_UIDS])
    spec = BoxSpec(exchange_url=None if args.no_account else args.exchange_url,
                   asset=args.asset, panel_port=args.panel_port, kind=BoxKind.DEVELOPMENT,
                   tier=args.tier)
    box = provision(data, spec, vendor_key, secrets.token_hex(16), credentials,
                    keep_user_pin=True)
    dev_key = make_dev_key(data)
    owner = enrol_dev_key(data, DEV_OWNER, Role.OWNER, dev_key)
    token = make_control_token(data, owner)
    print(f"provisioned {data.root}: serial {spec.serial}, asset {spec.asset}, "
          f"tier {spec.tier}, bots {', '.join(const.BOT_UIDS)}")
    print(f"software operator key: {soft_device(dev_key.label)} (token serial "
          f"{dev_key.token_serial}), enrolled as owner '{owner.name}'; its PIN is in "
          f"{data.hsm / DEV_KEY_PIN_FILE}")
    print(f"panel certificate SHA-256 fingerprint: {box.fingerprint}")
    print(f"control API token for scripts on {devrun.panel_url(data)} (shown only now; "
          f"only its hash is kept): {token.text}")
    return 0


def make_control_token(data: DataDir, owner: User) -> NewToken:
    """Make the development box's control API token, for scripts; keep only its hash."""
    token = new_token()
    db = open_writer(data.appliance_db)
    try:
        access.put_api_token(db, ApiToken(token.id, "development scripts", TokenScope.CONTROL,
                                          token.hash, time.time(),
                                          time.time() + DEV_TOKEN_DAYS * 86_400,
                                          owner.fingerprint))
    finally:
        db.close()
    return token


def login_help(data: DataDir) -> str:
    """Say how to log in to a development box's panel, with the software key's PIN."""
    pin_file = data.hsm / DEV_KEY_PIN_FILE
    pin = pin_file.read_text().strip() if pin_file.exists() else "(missing: provision again)"
    return (f"log in with the software key {soft_device(DEFAULT_DEV_KEY)}, PIN {pin}; "
            f"check the certificate's SHA-256 fingerprint "
            f"{certificate_fingerprint(data.panel_cert)}")


def run_devbox(args: argparse.Namespace) -> int:
    """Start the simulator and the box (provisioning it first if needed) until Ctrl-C."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    data = DataDir(args.data.resolve())
    devrun.check_pairing(data, args.simdata)
    simulator, url = devrun.start_simulator(args.simdata, args.sim_port)
    supervisor = None
    try:
        if not is_provisioned(data):
            provision_devbox(argparse.Namespace(
                data=data.root, exchange_url=url, panel_port=args.panel_port, asset=args.asset,
                vendor_dir=args.vendor_dir, no_account=False, tier=const.DEFAULT_TIER))
        else:
            devrun.upgrade(data)
        if not data.panel_cert.exists() or not (data.hsm / DEV_KEY_PIN_FILE).exists():
            raise ProvisioningError(
                f"{data.root} was provisioned before the panel had its certificate and "
                f"software key; remove {data.root} and {args.simdata} to provision it again")
        elif (provisioned_url := devrun.exchange_url(data)) not in (url, None):
            raise ProvisioningError(
                f"{data.root} trades on {provisioned_url}, not {url}; pass its port as --sim-port")
        supervisor = devrun.run_box(data, args.vendor_dir / PUBLIC_FILE)
        panel = devrun.panel_url(data)
        if devrun.wait_for_box(data, supervisor):
            # A development box trades at once; a production box waits for its operator.
            activated = devrun.activate_pairs(data)
            print(f"MMBox is running. Panel: {panel}  (Ctrl-C stops the box)\n"
                  f"{login_help(data)}\n"
                  f"activated {', '.join(activated)}", flush=True)
        return supervisor.wait()
    except KeyboardInterrupt:
        print("\nstopping: the bots cancel their orders first…", flush=True)
        return 0
    finally:
        if supervisor is not None:
            devrun.stop(supervisor)
        devrun.stop(simulator)


def build_parser() -> argparse.ArgumentParser:
    """Return the devbox command line, one subcommand per action."""
    parser = argparse.ArgumentParser(prog="python -m provisioning.devbox",
                                     description="Provision and run a development box.")
    commands = parser.add_subparsers(dest="command", required=True)
    provision_cmd = commands.add_parser("provision", help="provision a data directory")
    provision_cmd.add_argument("--data", type=Path, required=True, help="the data directory")
    provision_cmd.add_argument("--exchange-url", required=True, help="the simulator's base URL")
    provision_cmd.add_argument("--panel-port", type=int, default=const.PANEL_PORT)
    provision_cmd.add_argument("--asset", default=const.DEFAULT_ASSET,
                               help="the asset the box is locked to")
    provision_cmd.add_argument("--vendor-dir", type=Path, default=DEV_VENDOR_DIR,
                               help="the development vendor key folder (created if absent)")
    provision_cmd.add_argument("--no-account", action="store_true",
                               help="open no simulator account and add no pair: the owner sets "
                                    "the box up in the panel's first-run wizard")
    provision_cmd.add_argument("--tier", default=const.DEFAULT_TIER, choices=sorted(TIERS),
                               help="the license tier")
    provision_cmd.set_defaults(run_command=provision_devbox)
    run_cmd = commands.add_parser("run", help="start the simulator and the box")
    run_cmd.add_argument("--data", type=Path, required=True, help="the data directory")
    run_cmd.add_argument("--simdata", type=Path, required=True, help="the simulator's state")
    run_cmd.add_argument("--sim-port", type=int, default=devrun.SIMULATOR_PORT)
    run_cmd.add_argument("--panel-port", type=int, default=const.PANEL_PORT)
    run_cmd.add_argument("--asset", default=const.DEFAULT_ASSET)
    run_cmd.add_argument("--vendor-dir", type=Path, default=DEV_VENDOR_DIR)
    run_cmd.set_defaults(run_command=run_devbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one devbox subcommand; return its exit status."""
    args = build_parser().parse_args(argv)
    command: Command = args.run_command
    try:
        return command(args)
    except FAILURES as exc:
        print(f"devbox: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
