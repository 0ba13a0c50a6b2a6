"""A child on the supervisor's control channel: `python control_child.py MODE --control-fd N`.

MODE `obedient` answers ping, takes `slow` {seconds} that long, and exits on shutdown; `mute`
never answers anything.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

from appliance.ipc import Peer, serve_stream


async def main(mode: str, fd: int) -> None:
    done = asyncio.Event()

    async def answer(op: str, args: dict[str, Any], peer: Peer) -> Any:
        if op == "shutdown":
            done.set()
        if op == "slow":
            await asyncio.sleep(float(args["seconds"]))
        return "pong"

    if mode == "mute":
        await asyncio.sleep(3600)
    reader, writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=fd))
    task = asyncio.create_task(serve_stream(reader, writer, answer))
    await done.wait()
    await asyncio.sleep(0.05)
    task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[3])))
