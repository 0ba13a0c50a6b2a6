"""Encode and check the lines of the control framing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_LINE = 64 * 1024
"""The longest line either side accepts, newline included."""


class IpcError(Exception):
    """An error reply: a stable code and a message that says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """Return the error object of a reply."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Peer:
    """Who is on the other end of a socket, as the kernel reports it (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int


@dataclass(frozen=True)
class Request:
    """One parsed request line."""

    id: Any
    op: str
    args: dict[str, Any]


_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode(message: dict[str, Any]) -> bytes:
    """Return one message as a framed line."""
    return _ENCODER.encode(message).encode() + b"\n"


def parse_request(line: bytes) -> Request:
    """Parse a request line, or raise IpcError saying what is wrong with it."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IpcError("bad_json", f"request is not one JSON object per line: {exc}") from None
    if not isinstance(message, dict):
        raise IpcError("bad_request", "request must be a JSON object with id, op and args")
    op = message.get("op")
    if not isinstance(op, str) or not op:
        raise IpcError("bad_request", "request needs an 'op' string")
    args = message.get("args", {})
    if not isinstance(args, dict):
        raise IpcError("bad_request", "'args' must be a JSON object")
    request_id = message.get("id")
    if not isinstance(request_id, (str, int, type(None))) or isinstance(request_id, bool):
        raise IpcError("bad_request", "'id' must be a string or an integer")
    return Request(request_id, op, args)


def ok_reply(request_id: Any, result: Any) -> dict[str, Any]:
    """Return a success reply."""
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: Any, error: IpcError) -> dict[str, Any]:
    """Return an error reply."""
    return {"id": request_id, "ok": False, "error": error.as_dict()}


def read_result(reply: Any, request_id: Any) -> Any:
    """Return the result of a reply line's message, or raise its error as IpcError."""
    if not isinstance(reply, dict) or reply.get("id") != request_id:
        raise IpcError("bad_reply", "the peer answered out of order; reconnect")
    if reply.get("ok") is True:
        return reply.get("result")
    error = reply.get("error") or {}
    raise IpcError(str(error.get("code", "error")), str(error.get("message", "request failed")))
