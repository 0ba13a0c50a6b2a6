"""Names and defaults of the signer."""

DEFAULT_TOKEN_LABEL = "mmbox"
"""The label of the box's token."""

DEVICE_KEY_LABEL = "device"
"""The Ed25519 key that identifies the box; its public key is in the license."""
