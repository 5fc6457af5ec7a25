"""A scripted meter on a real TCP socket, for answers the simulator never gives.

Tests hand it a function from each decoded frame to the bytes to send back; it is how
we show the client's handling of busy meters, stray frames and endless "no data".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib

from custom_components.iec_meter.core.iec102.frames import FixedFrame, VariableFrame
from custom_components.iec_meter.core.iec102.parser import FrameParser

Script = Callable[[FixedFrame | VariableFrame], bytes]


@contextlib.asynccontextmanager
async def scripted_meter(script: Script) -> AsyncIterator[tuple[str, list[bytes]]]:
    """Serve ``script`` on 127.0.0.1; yields the URL and the list of frames received."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = FrameParser()
        try:
            while data := await reader.read(1024):
                for item in parser.feed(data):
                    if isinstance(item, FixedFrame | VariableFrame):
                        received.append(item.encode())
                        writer.write(script(item))
                        await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"socket://{host}:{port}", received
    finally:
        server.close()
        await server.wait_closed()
