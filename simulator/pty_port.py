"""The meter's end of a pseudo-terminal: what both simulators serve a serial client on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty

#: Bytes taken from the terminal at a time.
READ_SIZE = 4096


class PtyPort:
    """A raw pseudo-terminal; a client opens :attr:`path` as if it were a serial port."""

    def __init__(self) -> None:
        """Open the pair and start collecting what the client writes."""
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self.master = master
        self._slave = slave
        self.path = os.ttyname(slave)
        self._received: asyncio.Queue[bytes] = asyncio.Queue()
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._received.put_nowait(os.read(self.master, READ_SIZE))

    async def read(self) -> bytes:
        """The next bytes the client wrote."""
        return await self._received.get()

    def write(self, data: bytes) -> None:
        """Send bytes to the client (dropped if the terminal will not take them)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.master, data)

    def close(self) -> None:
        """Release both descriptors."""
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self._slave)
