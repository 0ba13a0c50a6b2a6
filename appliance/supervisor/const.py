"""The supervisor's names and numbers: watchdog, sandbox, and the box's accounts."""

from __future__ import annotations

from pathlib import Path

BACKOFF_FIRST = 1.0
"""Seconds before the first restart of a child that died."""
BACKOFF_MAX = 30.0
"""The longest wait between restarts."""
STABLE_AFTER = 30.0
"""A child that ran this long is healthy again: its backoff starts over."""
CRASH_LOOP_WINDOW = 120.0
CRASH_LOOP_LIMIT = 5
"""This many deaths within the window mark a child HALTED until the operator starts it."""

HEARTBEAT_EVERY = 2.0
HEARTBEAT_TIMEOUT = 10.0
"""A child that has not answered a ping for this long is killed and restarted."""

SIGNER_READY_TIMEOUT = 30.0
STOP_GRACE = 20.0
"""How long a bot may take to cancel its orders and exit when asked to stop."""
TERM_GRACE = 5.0
"""How long a child may take to exit after SIGTERM before SIGKILL."""

READERS_GID = 6100
"""Group that may read appliance.db: the bots and the panel."""

VENDOR_KEY = Path("/etc/mmbox/vendor.pub")
"""The vendor's public key baked into the image; licenses must verify against it."""

MEMORY_LIMIT = 3 * 1024**3
"""Address-space limit of each child (ccxt and NiceGUI map far more than they use)."""
FILES_LIMIT = 1024
PROCESSES_LIMIT = 256
PAIR_CHANGE_TIMEOUT = 40.0
"""How long a bot may take to start a pair (markets, reconciling), to cancel its orders, or to
read its exchange accounts for the panel."""
