"""A scripted meter on a real TCP socket, for answers the simulator never gives.

Tests hand it a function from each decoded frame to the bytes to send back; it is how
we show the client's handling of busy meters, stray frames, endless "no data" and other
hostile peers. :func:`session_to` drives the layer under the client (session, link and
transport) against such a peer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib

from custom_components.iec_meter.core.iec102.constants import (
    PrimaryFunction,
    SecondaryFunction,
)
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    VariableFrame,
    secondary_control,
)
from custom_components.iec_meter.core.iec102.parser import FrameParser
from custom_components.iec_meter.core.iec102.session import Iec102Session
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings, Transport

Script = Callable[[FixedFrame | VariableFrame], bytes]


@contextlib.asynccontextmanager
async def scripted_meter(
    script: Script, close_on_accept: bool = False
) -> AsyncIterator[tuple[str, list[bytes]]]:
    """Serve ``script`` on 127.0.0.1; yields the URL and the list of frames received."""
    received: list[bytes] = []
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        parser = FrameParser()
        try:
            while not close_on_accept and (data := await reader.read(1024)):
                for item in parser.feed(data):
                    if isinstance(item, FixedFrame | VariableFrame):
                        received.append(item.encode())
                        writer.write(script(item))
                        await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            handlers.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"socket://{host}:{port}", received
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def fixed(function: SecondaryFunction, address: int = 1) -> bytes:
    """A fixed frame from the meter."""
    return FixedFrame(secondary_control(function), address).encode()


def meter_script(class2: Callable[[FixedFrame | VariableFrame], bytes]) -> Script:
    """A meter that does the link handshake right and answers polls with ``class2``."""

    def script(frame: FixedFrame | VariableFrame) -> bytes:
        if frame.function == PrimaryFunction.REQUEST_LINK_STATUS:
            return fixed(SecondaryFunction.LINK_STATUS, frame.address)
        if frame.function == PrimaryFunction.REQUEST_CLASS_2:
            return class2(frame)
        return fixed(SecondaryFunction.ACK, frame.address)

    return script


@contextlib.asynccontextmanager
async def session_to(
    url: str, timing: Timing, meter: Iec102Settings | None = None
) -> AsyncIterator[Iec102Session]:
    """An open transport to ``url`` and a session on it (not started); closed after."""
    transport = Transport(LineSettings(url, connect_timeout=2.0))
    await transport.open()
    try:
        yield Iec102Session(transport, meter or Iec102Settings(1, 1, 1), timing)
    finally:
        await transport.close()
