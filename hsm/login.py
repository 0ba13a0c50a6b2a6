"""Log an operator in: a fresh challenge, signed on their key, checked against the enrolled key.

A challenge is bound to the USB key it was issued for. It is used once, expires after
CHALLENGE_TTL seconds, and is withdrawn when that key is pulled out, which also ends every
session the key opened. Times are passed in (`now`, monotonic seconds): nothing here reads a clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hsm.enrol import fingerprint
from hsm.operator_key import OperatorPublicKey

CHALLENGE_BYTES = 32
"""Random bytes in a challenge."""

CHALLENGE_TTL = 60.0
"""Seconds a challenge may be answered after it was issued."""

MAX_PENDING = 64
"""Challenges kept unanswered at most; issuing more drops the oldest."""

LOGIN_CONTEXT = b"MMBox operator login v1\x00"
"""Prefixed to each challenge before signing, so a login signature can serve nothing else."""


class LoginError(Exception):
    """A login attempt failed; the message says what the operator should do."""


class ChallengeUnknown(LoginError):
    """The challenge was never issued here, or was used already."""


class ChallengeExpired(LoginError):
    """The challenge was answered too late."""


class KeyRemoved(LoginError):
    """The operator's key was pulled out between the challenge and its answer."""


class SignatureInvalid(LoginError):
    """The signature does not verify against the enrolled public key."""


@dataclass(frozen=True)
class Challenge:
    """A random challenge for the key plugged in at `device`, answerable until `expires`."""

    id: str
    nonce: bytes
    device: str
    expires: float

    @property
    def message(self) -> bytes:
        """Return the bytes the operator's key signs."""
        return LOGIN_CONTEXT + self.nonce


@dataclass(frozen=True)
class LoginSession:
    """An operator logged in with the key at `device` whose public key has `fingerprint`."""

    id: str
    device: str
    fingerprint: str
    started: float


class LoginDesk:
    """Issue login challenges, redeem signed ones, and keep the sessions they open."""

    def __init__(self, ttl: float = CHALLENGE_TTL) -> None:
        self._ttl = ttl
        self._pending: dict[str, Challenge] = {}
        self._signing: dict[str, Challenge] = {}
        self._withdrawn: dict[str, Challenge] = {}
        self._sessions: dict[str, LoginSession] = {}

    def issue(self, device: str, now: float) -> Challenge:
        """Return a fresh challenge for the key plugged in at `device`."""
        self._forget_expired(now)
        while len(self._pending) >= MAX_PENDING:
            del self._pending[next(iter(self._pending))]
        challenge = Challenge(secrets.token_urlsafe(16), secrets.token_bytes(CHALLENGE_BYTES),
                              device, now + self._ttl)
        self._pending[challenge.id] = challenge
        return challenge

    def claim(self, challenge_id: str, now: float) -> Challenge:
        """Take a pending challenge to be signed; it cannot be claimed again."""
        challenge = self._pending.pop(challenge_id, None)
        if challenge is None:
            raise _gone(challenge_id, self._withdrawn)
        if now > challenge.expires:
            raise ChallengeExpired(f"the login challenge expired after {self._ttl:.0f} s; "
                                   "start the login again")
        self._signing[challenge.id] = challenge
        return challenge

    def complete(
        self, challenge: Challenge, signature: bytes, enrolled: OperatorPublicKey, now: float
    ) -> LoginSession:
        """Open a session if the key is still in and the signature verifies against `enrolled`."""
        if self._signing.pop(challenge.id, None) is None:
            raise _gone(challenge.id, self._withdrawn)
        verify_signature(enrolled, challenge.message, signature)
        session = LoginSession(secrets.token_urlsafe(32), challenge.device,
                               fingerprint(enrolled), now)
        self._sessions[session.id] = session
        return session

    def abandon(self, challenge: Challenge) -> None:
        """Drop a claimed challenge whose signing failed."""
        self._signing.pop(challenge.id, None)

    def key_removed(self, device: str) -> list[LoginSession]:
        """Withdraw the challenges of the key at `device`; end and return its sessions."""
        for waiting in (self._pending, self._signing):
            for challenge in [c for c in waiting.values() if c.device == device]:
                del waiting[challenge.id]
                self._withdrawn[challenge.id] = challenge
        ended = [s for s in self._sessions.values() if s.device == device]
        for session in ended:
            del self._sessions[session.id]
        return ended

    def session(self, session_id: str) -> LoginSession | None:
        """Return the open session `session_id`, if it is still open."""
        return self._sessions.get(session_id)

    def end(self, session_id: str) -> LoginSession | None:
        """End session `session_id` (logout); return it, or None if it was not open."""
        return self._sessions.pop(session_id, None)

    def _forget_expired(self, now: float) -> None:
        for book in (self._pending, self._withdrawn):
            for challenge_id in [i for i, c in book.items() if now > c.expires]:
                del book[challenge_id]


def verify_signature(public: OperatorPublicKey, message: bytes, signature: bytes) -> None:
    """Check a signature made by `sign_on_key`, or raise SignatureInvalid."""
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, Ed25519PublicKey):
            public.verify(signature, message)
        else:
            public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureInvalid("the key's signature does not match the enrolled key; log in "
                               "with the key you enrolled, or enrol this one") from None


def _gone(challenge_id: str, withdrawn: dict[str, Challenge]) -> LoginError:
    """Return why a challenge can no longer be answered."""
    if challenge_id in withdrawn:
        return KeyRemoved("the operator's key was pulled out during the login; plug it in "
                          "and log in again")
    return ChallengeUnknown("this login challenge is unknown or was used already; start the "
                            "login again")
