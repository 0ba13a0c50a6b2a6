"""Names and defaults of the signer."""

DEFAULT_TOKEN_LABEL = "mmbox"
"""The label of the box's token."""

DEVICE_KEY_LABEL = "device"
"""The Ed25519 key that identifies the box; its public key is in the license."""

PROTECTED_KEY_LABELS = frozenset({DEVICE_KEY_LABEL})
"""Keys the agent never renames or deletes: the license is bound to the device key."""

KEY_LABEL_MAX = 40
"""The longest key label: YubiHSM 2 keeps 40 bytes of a label, so every token can hold it."""

KEY_LABEL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
"""A key label: letters, digits, '.', '_' and '-', starting with a letter or digit."""

RATE_PER_SECOND = 200.0
"""Requests a caller uid may make per second, sustained (a bot signs far fewer)."""

RATE_BURST = 400
"""Requests a caller uid may make at once before the sustained rate applies."""

MAX_CONNECTIONS_PER_UID = 64
"""Connections one caller uid may hold open at once."""

PARTIAL_LINE_SECONDS = 10.0
"""How long a connection may hold an unfinished request line before it is closed."""

LINES_PER_TURN = 16
"""Requests answered on one connection before the agent turns to the other connections."""

PIN_FAILURES_ALLOWED = 5
"""Wrong user PINs accepted before further logins are delayed."""

PIN_LOCKOUT_MAX = 3600.0
"""The longest delay, in seconds, after a wrong PIN."""

PIN_GUARD_FILE = "pin-guard.json"
"""The wrong-PIN counter, in the signer's folder (DataDir.hsm): a count and a time, no PIN."""

AUDIT_FILE = "audit.log"
"""The signer's audit log, in its folder (DataDir.hsm)."""

AUDIT_FLUSH_SECONDS = 60.0
"""How often the counts of signatures and repeated refusals are written to the audit log."""

OPERATOR_PIN_GUARD_FILE = "operator-pin-guard.json"
"""Wrong PINs typed for operators' USB keys, counted apart from the box token's own."""
