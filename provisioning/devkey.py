"""Make the development box's software operator key: a SoftHSM2 token beside the box's own.

The development box has no USB bus, so its operator key is a second token in the box's
SoftHSM2 configuration, labelled `dev-key-N` and holding an ECDSA P-256 key pair made on it,
as a PIV key holds its login key. Its random PIN is kept in `hsm/dev-key.pin` (mode 0600),
which only a development box does, like `hsm/user.pin`. Enrolling the key is the caller's part.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism
from pkcs11.util.ec import encode_named_curve_parameters

from appliance.datadir import DataDir
from appliance.store.access import Role, User
from appliance.store.atomic import write_atomic
from hsm.enrol import read_enrolment
from hsm.operator_key import OperatorTokenRef
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.softkeys import DEV_KEY_PIN_FILE, DEV_KEY_PREFIX
from provisioning.factory import enrol_user

DEFAULT_DEV_KEY = DEV_KEY_PREFIX + "1"
KEY_ID = b"\x9a"
"""The key pair's CKA_ID: the PIV authentication slot's number, as a YubiKey names it."""
KEY_LABEL = "PIV AUTH key"


class DevKeyError(Exception):
    """The software key cannot be made; the message says what to do."""


@dataclass(frozen=True)
class DevKey:
    """A software operator key as the box enrols it: where it is and its public key."""

    label: str
    token_serial: str
    public_key_pem: str
    key_id: str
    key_label: str


def make_dev_key(data: DataDir, label: str = DEFAULT_DEV_KEY) -> DevKey:
    """Make token `label` with a P-256 key pair and a random PIN kept in hsm/dev-key.pin.

    Every software key of a box shares that one PIN.
    """
    if not label.startswith(DEV_KEY_PREFIX):
        raise DevKeyError(f"a software key's label starts with {DEV_KEY_PREFIX!r}, so the "
                          f"signer finds it; not {label!r}")
    pin = _pin(data)
    init_token(data, label, secrets.token_hex(16), pin)
    use_config(data)
    library = pkcs11.lib(SOFTHSM_MODULE)
    try:
        with library.get_token(token_label=label).open(rw=True, user_pin=pin) as session:
            session.generate_keypair(
                KeyType.EC, mechanism=Mechanism.EC_KEY_PAIR_GEN, id=KEY_ID, label=KEY_LABEL,
                store=True,
                public_template={Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                                  Attribute.SIGN: True},
            )
        enrolment = read_enrolment(OperatorTokenRef(SOFTHSM_MODULE, token_label=label))
    finally:
        # The next user of the module in this process reads its configuration afresh.
        library.finalize()
    return DevKey(label, enrolment.token_serial, enrolment.public_key_pem, enrolment.key_id,
                  enrolment.key_label)


def _pin(data: DataDir) -> str:
    """Return the software keys' PIN, chosen and written the first time."""
    path = data.hsm / DEV_KEY_PIN_FILE
    if path.exists():
        return path.read_text().strip()
    pin = secrets.token_hex(16)
    write_atomic(path, f"{pin}\n".encode(), 0o600)
    return pin


def enrol_dev_key(data: DataDir, name: str, role: Role, key: DevKey) -> User:
    """Enrol a software key for a user, as an owner enrols a plugged key."""
    return enrol_user(data, name, role, key.public_key_pem, key.token_serial, {
        "token_label": key.label, "token_serial": key.token_serial, "key_id": key.key_id,
        "key_label": key.key_label})
