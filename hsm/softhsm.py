"""Run SoftHSM2 out of the data directory: its private configuration and its token."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

from appliance.datadir import DataDir

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
CONF_VARIABLE = "SOFTHSM2_CONF"
UTIL = "softhsm2-util"
INIT_TIMEOUT = 30.0


class TokenInitError(Exception):
    """softhsm2-util could not create the token; the message says why."""


def is_softhsm(module: str) -> bool:
    """Tell whether a PKCS#11 module path is SoftHSM2's."""
    return Path(module).name == Path(SOFTHSM_MODULE).name


def token_dir(data: DataDir) -> Path:
    """Return the absolute folder holding the token files."""
    return data.hsm.resolve() / "tokens"


def write_config(data: DataDir) -> Path:
    """Write the private SoftHSM2 config for the data dir where it is now, and return its path.

    The token folder is written as an absolute path, so the config is rewritten at every
    start: the data dir moves (`./var` in development, `/data` in the image).
    """
    tokens = token_dir(data)
    tokens.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = (
        f"directories.tokendir = {tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    fd = os.open(data.softhsm_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as conf:
        conf.write(text)
    return data.softhsm_conf


def use_config(data: DataDir) -> None:
    """Write the config and point this process's SoftHSM2 at it (read when the module loads)."""
    os.environ[CONF_VARIABLE] = str(write_config(data))


def init_token(data: DataDir, label: str, so_pin: str, user_pin: str) -> None:
    """Create token `label` in the data dir's token folder.

    softhsm2-util takes PINs either on its command line, where any process can read them,
    or typed at a terminal: it gets them typed, on a pseudo-terminal of its own.
    """
    for pin in (so_pin, user_pin):
        if not 4 <= len(pin) <= 255 or not pin.isprintable():
            raise TokenInitError("a SoftHSM2 PIN has 4 to 255 printable characters; choose another")
    env = {**os.environ, CONF_VARIABLE: str(write_config(data))}
    command = [UTIL, "--init-token", "--free", "--label", label]
    typed = f"{so_pin}\n{so_pin}\n{user_pin}\n{user_pin}\n".encode()
    returncode, errors = _run_typing(command, env, typed)
    if returncode != 0:
        raise TokenInitError(f"{UTIL} could not create token '{label}': {errors}")


def _run_typing(command: list[str], env: dict[str, str], typed: bytes) -> tuple[int, str]:
    """Run command with `typed` waiting on its terminal; return its status and stderr."""
    typist, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            command, stdin=terminal, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, start_new_session=True,
        )
        os.write(typist, typed)
        _, errors = process.communicate(timeout=INIT_TIMEOUT)
    except FileNotFoundError:
        raise TokenInitError(f"{UTIL} is not installed; install Debian's softhsm2") from None
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise TokenInitError(f"{UTIL} did not finish within {INIT_TIMEOUT:.0f} s") from None
    finally:
        os.close(typist)
        os.close(terminal)
    return process.returncode, errors.decode(errors="replace").strip()

