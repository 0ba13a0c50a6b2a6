"""Fixtures of the signer tests: a real SoftHSM2 token in a temporary data directory."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.datadir import DataDir
from hsm.const import DEFAULT_TOKEN_LABEL
from hsm.softhsm import SOFTHSM_MODULE, init_token, use_config
from hsm.token import Token


@pytest.fixture
def user_pin() -> str:
    """Return the user PIN of the test tokens."""
    return "test-user-pin"


@pytest.fixture
def data(tmp_path: Path, user_pin: str) -> DataDir:
    """Return a data directory with a fresh, empty token (and this process pointed at it)."""
    data = DataDir(tmp_path / "data")
    init_token(data, DEFAULT_TOKEN_LABEL, secrets.token_hex(8), user_pin)
    use_config(data)
    return data


@pytest.fixture
def token(data: DataDir, user_pin: str) -> Iterator[Token]:
    """Yield a logged-in session on the fresh token."""
    with Token.open(SOFTHSM_MODULE, DEFAULT_TOKEN_LABEL, user_pin) as token:
        yield token
