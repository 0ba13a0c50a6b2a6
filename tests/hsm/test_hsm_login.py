"""USB-key login: a fresh challenge signed on the operator's token, checked against enrolment."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.datadir import DataDir
from appliance.ipc import IpcError, Peer
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.enrol import read_enrolment
from hsm.login import (
    CHALLENGE_BYTES,
    CHALLENGE_TTL,
    MAX_PENDING,
    ChallengeExpired,
    ChallengeUnknown,
    KeyRemoved,
    LoginDesk,
    LoginSession,
    SignatureInvalid,
)
from hsm.login_ops import LoginOp, LoginOps
from hsm.operator_key import (
    OperatorPinRefused,
    OperatorPublicKey,
    OperatorTokenRef,
    as_operator_key,
    sign_on_key,
)
from hsm.pinguard import PinGuard
from hsm.softhsm import SOFTHSM_MODULE
from hsm.usb import YUBIKEY_5, KeyEvent, KeyWatch
from tests.hsm.operator_bed import (
    KINDS,
    OPERATOR_PIN,
    OPERATOR_TOKEN,
    OTHER_TOKEN,
    UsbBed,
    generate_pair,
    make_tokens,
    needs_umockdev,
    next_event,
    release_module,
    run_under_umockdev,
    spawns_umockdev,
)

REF = OperatorTokenRef(SOFTHSM_MODULE, token_label=OPERATOR_TOKEN)
OTHER_REF = OperatorTokenRef(SOFTHSM_MODULE, token_label=OTHER_TOKEN)
DEVICE = "/sys/devices/1-1"
OTHER_DEVICE = "/sys/devices/1-2"
PANEL = Peer(pid=1, uid=6200, gid=6200)
BOT = Peer(pid=2, uid=6111, gid=6111)


@pytest.fixture
def tokens(tmp_path: Path) -> Iterator[DataDir]:
    """Yield a data dir holding the box's token and two empty operator tokens."""
    yield make_tokens(tmp_path / "data")
    release_module()


def enrolled(ref: OperatorTokenRef = REF) -> OperatorPublicKey:
    """Return the public key enrolment reads from the operator's token."""
    return as_operator_key(load_pem_public_key(read_enrolment(ref).public_key_pem.encode()))


def log_in(desk: LoginDesk, device: str, now: float = 0.0) -> LoginSession:
    """Open a session at the desk with the operator's key, as it would be plugged at `device`."""
    challenge = desk.claim(desk.issue(device, now).id, now)
    signature = sign_on_key(REF, OPERATOR_PIN, challenge.message)
    return desk.complete(challenge, signature, enrolled(), now)


@pytest.mark.parametrize("kind", KINDS)
def test_a_challenge_signed_on_the_enrolled_key_opens_a_session(
    tokens: DataDir, kind: str
) -> None:
    generate_pair(OPERATOR_TOKEN, kind)
    desk = LoginDesk()
    challenge = desk.claim(desk.issue(DEVICE, 100.0).id, 101.0)
    signature = sign_on_key(REF, OPERATOR_PIN, challenge.message)
    session = desk.complete(challenge, signature, enrolled(), 102.0)
    assert (session.device, session.fingerprint) == (DEVICE, read_enrolment(REF).fingerprint)
    assert desk.session(session.id) == session


def test_challenges_are_long_random_and_never_repeat() -> None:
    desk = LoginDesk()
    challenges = [desk.issue(DEVICE, 0.0) for _ in range(MAX_PENDING)]
    assert CHALLENGE_BYTES >= 32
    assert all(len(challenge.nonce) == CHALLENGE_BYTES for challenge in challenges)
    assert len({challenge.nonce for challenge in challenges}) == MAX_PENDING
    assert len({challenge.id for challenge in challenges}) == MAX_PENDING
    assert all(c.message.endswith(c.nonce) and c.message != c.nonce for c in challenges)


def test_a_wrong_pin_is_refused_without_repeating_it(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    with pytest.raises(OperatorPinRefused, match="refused the PIN") as refused:
        sign_on_key(REF, "not-the-pin", b"challenge")
    assert "not-the-pin" not in str(refused.value)


def test_an_answered_challenge_cannot_be_replayed(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ecdsa-secp256r1")
    desk = LoginDesk()
    challenge = desk.claim(desk.issue(DEVICE, 0.0).id, 0.0)
    signature = sign_on_key(REF, OPERATOR_PIN, challenge.message)
    desk.complete(challenge, signature, enrolled(), 0.0)
    with pytest.raises(ChallengeUnknown, match="used already"):
        desk.claim(challenge.id, 1.0)
    with pytest.raises(ChallengeUnknown):
        desk.complete(challenge, signature, enrolled(), 1.0)


def test_a_signature_of_an_earlier_challenge_is_refused(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    desk = LoginDesk()
    earlier = desk.claim(desk.issue(DEVICE, 0.0).id, 0.0)
    old_signature = sign_on_key(REF, OPERATOR_PIN, earlier.message)
    desk.complete(earlier, old_signature, enrolled(), 0.0)
    fresh = desk.claim(desk.issue(DEVICE, 1.0).id, 1.0)
    with pytest.raises(SignatureInvalid):
        desk.complete(fresh, old_signature, enrolled(), 1.0)


def test_an_expired_challenge_is_refused_and_used_up() -> None:
    desk = LoginDesk()
    in_time, late = desk.issue(DEVICE, 100.0), desk.issue(DEVICE, 100.0)
    desk.claim(in_time.id, 100.0 + CHALLENGE_TTL)
    with pytest.raises(ChallengeExpired, match="expired after 60 s"):
        desk.claim(late.id, 100.0 + CHALLENGE_TTL + 0.001)
    with pytest.raises(ChallengeUnknown):
        desk.claim(late.id, 100.0)


@pytest.mark.parametrize("kind", KINDS)
def test_a_signature_by_another_key_is_refused(tokens: DataDir, kind: str) -> None:
    generate_pair(OPERATOR_TOKEN, kind)
    generate_pair(OTHER_TOKEN, kind)
    desk = LoginDesk()
    challenge = desk.claim(desk.issue(DEVICE, 0.0).id, 0.0)
    signature = sign_on_key(OTHER_REF, OPERATOR_PIN, challenge.message)
    assert enrolled(OTHER_REF) != enrolled()
    with pytest.raises(SignatureInvalid, match="does not match the enrolled key"):
        desk.complete(challenge, signature, enrolled(), 0.0)


def test_a_key_pulled_out_withdraws_its_challenges_and_ends_its_sessions(
    tokens: DataDir
) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    desk = LoginDesk()
    pulled_session, kept_session = log_in(desk, DEVICE), log_in(desk, OTHER_DEVICE)
    waiting = desk.issue(DEVICE, 0.0)
    signing = desk.claim(desk.issue(DEVICE, 0.0).id, 0.0)
    elsewhere = desk.issue(OTHER_DEVICE, 0.0)
    signature = sign_on_key(REF, OPERATOR_PIN, signing.message)
    assert desk.key_removed(DEVICE) == [pulled_session]
    with pytest.raises(KeyRemoved, match="pulled out during the login"):
        desk.claim(waiting.id, 0.0)
    with pytest.raises(KeyRemoved):
        desk.complete(signing, signature, enrolled(), 0.0)
    desk.claim(elsewhere.id, 0.0)
    assert desk.session(pulled_session.id) is None
    assert desk.session(kept_session.id) == kept_session


def test_logout_ends_only_that_session(tokens: DataDir) -> None:
    generate_pair(OPERATOR_TOKEN, "ecdsa-secp256r1")
    desk = LoginDesk()
    first, second = log_in(desk, DEVICE), log_in(desk, DEVICE)
    assert desk.end(first.id) == first
    assert desk.end(first.id) is None
    assert desk.session(first.id) is None
    assert desk.session(second.id) == second


def test_the_oldest_unanswered_challenge_gives_way() -> None:
    desk = LoginDesk()
    oldest = desk.issue(DEVICE, 0.0)
    newer = [desk.issue(DEVICE, 0.0) for _ in range(MAX_PENDING)]
    with pytest.raises(ChallengeUnknown):
        desk.claim(oldest.id, 0.0)
    desk.claim(newer[0].id, 0.0)


@pytest.fixture
def guard(tmp_path: Path) -> PinGuard:
    """Return a fresh wrong-PIN guard for the operator keys."""
    return PinGuard(tmp_path / "operator-pin-guard.json")


def panel_ops(watch: KeyWatch, guard: PinGuard) -> dict[str, LoginOp]:
    """Return the login ops as the signer would serve them to the panel."""
    return LoginOps(watch, SOFTHSM_MODULE, [PANEL.uid], guard, [DEFAULT_TOKEN_LABEL]).table()


async def refusal(op: LoginOp, args: dict[str, Any], peer: Peer = PANEL) -> str:
    """Call op expecting an error reply; return its code."""
    with pytest.raises(IpcError) as refused:
        await op(args, peer)
    return refused.value.code


async def test_only_the_panel_may_use_the_login_ops(guard: PinGuard) -> None:
    for name, op in panel_ops(KeyWatch([YUBIKEY_5]), guard).items():
        assert await refusal(op, {}, BOT) == "forbidden", name


async def test_a_challenge_needs_a_key_plugged_in(guard: PinGuard) -> None:
    ops = panel_ops(KeyWatch([YUBIKEY_5]), guard)
    assert await ops["usb_keys"]({}, PANEL) == {"keys": []}
    assert await refusal(ops["login_challenge"], {"device": DEVICE}) == "key_absent"
    assert await refusal(ops["login_challenge"], {}) == "bad_args"


@pytest.mark.parametrize("args", [
    {"pin": OPERATOR_PIN, "public_key_pem": "x", "token_label": OPERATOR_TOKEN},
    {"challenge_id": "c", "public_key_pem": "x", "token_label": OPERATOR_TOKEN},
    {"challenge_id": "c", "pin": OPERATOR_PIN, "token_label": OPERATOR_TOKEN},
    {"challenge_id": "c", "pin": OPERATOR_PIN, "public_key_pem": "not a key",
     "token_label": OPERATOR_TOKEN},
])
async def test_login_verify_names_a_missing_or_bad_argument(
    args: dict[str, Any], guard: PinGuard
) -> None:
    verify = panel_ops(KeyWatch([YUBIKEY_5]), guard)["login_verify"]
    assert await refusal(verify, args) == "bad_args"


async def test_login_verify_needs_the_token_named(tokens: DataDir, guard: PinGuard) -> None:
    generate_pair(OPERATOR_TOKEN, "ed25519")
    args = {"challenge_id": "c", "pin": OPERATOR_PIN,
            "public_key_pem": read_enrolment(REF).public_key_pem}
    verify = panel_ops(KeyWatch([YUBIKEY_5]), guard)["login_verify"]
    assert await refusal(verify, args) == "bad_args"
    assert await refusal(verify, {**args, "token_label": 7}) == "bad_args"
    assert await refusal(verify, {**args, "token_label": OPERATOR_TOKEN}) == "challenge_unknown"


@spawns_umockdev
def test_login_with_usb_keys_under_umockdev() -> None:
    run_under_umockdev(__file__, "TestLoginWithUsbKey")


@pytest.fixture
def usb() -> Iterator[UsbBed]:
    """Yield a bed of fake USB devices with none plugged in; unplug what is left after."""
    bed = UsbBed()
    yield bed
    bed.clear()


async def pull(usb: UsbBed, events: AsyncIterator[KeyEvent], device: str) -> None:
    """Pull the key at `device` out and wait until the watch has heard of it."""
    usb.announce_removal(device)
    await next_event(events)
    usb.unplug(device)


@needs_umockdev
class TestLoginWithUsbKey:
    """The panel's login through the agent ops, with the key plugged in and pulled out."""

    async def test_the_panel_logs_in_with_the_key_plugged_in(
        self, tokens: DataDir, usb: UsbBed, guard: PinGuard
    ) -> None:
        generate_pair(OPERATOR_TOKEN, "ecdsa-secp256r1")
        async with KeyWatch([YUBIKEY_5]) as watch:
            ops, events = panel_ops(watch, guard), watch.events()
            device = usb.plug(serial="0012345678")
            await next_event(events)
            listed = await ops["usb_keys"]({}, PANEL)
            assert listed == {"keys": [{"device": device, "usb_id": "1050:0407",
                                        "serial": "0012345678", "product": "YubiKey"}]}
            enrolment = await ops["enrol_read"]({"token_label": OPERATOR_TOKEN}, PANEL)
            challenge = await ops["login_challenge"]({"device": device}, PANEL)
            assert len(base64.b64decode(challenge["challenge_b64"])) >= 32
            assert challenge["expires_in"] == CHALLENGE_TTL
            login = await ops["login_verify"](
                {"challenge_id": challenge["challenge_id"], "pin": OPERATOR_PIN,
                 "public_key_pem": enrolment["public_key_pem"],
                 "token_serial": enrolment["token_serial"], "key_id": enrolment["key_id"]},
                PANEL)
            assert (login["device"], login["fingerprint"]) == (device, enrolment["fingerprint"])
            session = {"session": login["session"]}
            assert await ops["login_session"](session, PANEL) == {
                "open": True, "device": device, "fingerprint": enrolment["fingerprint"]}
            assert await ops["logout"](session, PANEL) == {"ended": True}
            assert await ops["login_session"](session, PANEL) == {"open": False}
            assert await ops["logout"](session, PANEL) == {"ended": False}

    async def test_pulling_the_key_ends_its_sessions(
        self, tokens: DataDir, usb: UsbBed, guard: PinGuard
    ) -> None:
        generate_pair(OPERATOR_TOKEN, "rsa-2048")
        async with KeyWatch([YUBIKEY_5]) as watch:
            ops, events = panel_ops(watch, guard), watch.events()
            pulled, kept = usb.plug(serial="1"), usb.plug(serial="2")
            await next_event(events)
            await next_event(events)
            sessions = [await self.log_in(ops, device) for device in (pulled, kept)]
            await pull(usb, events, pulled)
            states = [await ops["login_session"]({"session": s}, PANEL) for s in sessions]
            assert [state["open"] for state in states] == [False, True]
            assert [key["device"] for key in (await ops["usb_keys"]({}, PANEL))["keys"]] == [kept]
            assert await refusal(ops["login_challenge"], {"device": pulled}) == "key_absent"

    async def test_a_key_pulled_between_challenge_and_verify_fails_the_login(
        self, tokens: DataDir, usb: UsbBed, guard: PinGuard
    ) -> None:
        generate_pair(OPERATOR_TOKEN, "ed25519")
        async with KeyWatch([YUBIKEY_5]) as watch:
            ops, events = panel_ops(watch, guard), watch.events()
            device = usb.plug()
            await next_event(events)
            challenge = await ops["login_challenge"]({"device": device}, PANEL)
            await pull(usb, events, device)
            args = self.verify_args(challenge["challenge_id"])
            assert await refusal(ops["login_verify"], args) == "key_removed"

    async def test_a_key_pulled_while_it_signs_fails_the_login(
        self, tokens: DataDir, usb: UsbBed, guard: PinGuard
    ) -> None:
        generate_pair(OPERATOR_TOKEN, "ecdsa-secp256r1")
        async with KeyWatch([YUBIKEY_5]) as watch:
            ops, events = panel_ops(watch, guard), watch.events()
            device = usb.plug()
            await next_event(events)
            challenge = await ops["login_challenge"]({"device": device}, PANEL)
            verify = asyncio.ensure_future(
                ops["login_verify"](self.verify_args(challenge["challenge_id"]), PANEL))
            await asyncio.sleep(0)
            # The challenge is claimed and the signing runs in a worker thread; udev's
            # removal reaches the loop before the signature can.
            usb.announce_removal(device)
            with pytest.raises(IpcError) as refused:
                await verify
            assert refused.value.code == "key_removed"
            await next_event(events)
            usb.unplug(device)

    async def test_a_wrong_pin_uses_up_the_challenge(
        self, tokens: DataDir, usb: UsbBed, guard: PinGuard
    ) -> None:
        generate_pair(OPERATOR_TOKEN, "ed25519")
        async with KeyWatch([YUBIKEY_5]) as watch:
            ops, events = panel_ops(watch, guard), watch.events()
            device = usb.plug()
            await next_event(events)
            challenge = await ops["login_challenge"]({"device": device}, PANEL)
            args = self.verify_args(challenge["challenge_id"])
            assert await refusal(ops["login_verify"], {**args, "pin": "0000"}) == "wrong_pin"
            assert await refusal(ops["login_verify"], args) == "challenge_unknown"

    @staticmethod
    def verify_args(challenge_id: str) -> dict[str, Any]:
        """Return login_verify's args for the operator's token and enrolled key."""
        return {"challenge_id": challenge_id, "pin": OPERATOR_PIN,
                "public_key_pem": read_enrolment(REF).public_key_pem,
                "token_label": OPERATOR_TOKEN}

    async def log_in(self, ops: dict[str, LoginOp], device: str) -> str:
        """Log in through the ops with the key at `device`; return the session id."""
        challenge = await ops["login_challenge"]({"device": device}, PANEL)
        login = await ops["login_verify"](self.verify_args(challenge["challenge_id"]), PANEL)
        session: str = login["session"]
        return session
