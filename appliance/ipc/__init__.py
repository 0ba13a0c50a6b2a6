"""The box's one control framing: one JSON object per line over a stream socket.

Request `{"id", "op", "args"}`; reply `{"id", "ok": true, "result"}` or
`{"id", "ok": false, "error": {"code", "message"}}`.
"""

from appliance.ipc.client import UNREACHABLE, IpcClient, SyncIpcClient, call_once
from appliance.ipc.framing import MAX_LINE, IpcError, Peer
from appliance.ipc.server import Handler, serve_stream, serve_unix

__all__ = [
    "MAX_LINE",
    "UNREACHABLE",
    "Handler",
    "IpcClient",
    "IpcError",
    "Peer",
    "SyncIpcClient",
    "call_once",
    "serve_stream",
    "serve_unix",
]
