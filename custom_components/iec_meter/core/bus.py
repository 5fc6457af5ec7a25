"""The one owner of a line (port or converter) and of the meters' turns on it.

A line is half duplex, and an RS-485 bus carries one frame at a time, so every exchange
with any meter on it runs in a turn (:meth:`Bus.run`), one after the other. The bus
opens the line when a turn needs it, and never tries again sooner than the reconnect
delay after a failed open. It knows the clients on the line, so it can end every open
session and hand the whole line to someone else (:meth:`Bus.hold`), which the pass-
through gateway needs, and it can change the line's speed (IEC 62056-21 modes B and C).

Several gateways may serve one line; the bus keeps who they are and which one's client
has the line (:meth:`Bus.claim`), so a gateway of higher priority can take the line from
a lower one and a lower one's client is refused meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import logging
from types import TracebackType
from typing import Protocol, Self

from .errors import CannotConnect, MeterError
from .timing import Timing
from .transport import LineSettings, Transport

_LOGGER = logging.getLogger(__name__)


class SessionHolder(Protocol):
    """A client that may keep a session open with its meter between turns."""

    async def end_session(self) -> None:
        """Log out if logged in; called with the line held."""


class LineTaker(Protocol):
    """One who takes the whole line for an outside client (a pass-through gateway)."""

    @property
    def priority(self) -> int:
        """Rank among the takers of one bus, 1 the highest (as the industrial clients count).

        A gateway of higher priority (a smaller number) takes the line from a lower one.
        """
        ...

    def let_go(self) -> None:
        """Drop the outside client so that the line is released soon (does not wait)."""
        ...


class Bus:
    """A line and the turns the meters on it take."""

    def __init__(self, line: LineSettings, timing: Timing | None = None) -> None:
        """Prepare the bus; the line opens on the first turn."""
        self.transport = Transport(line)
        self.timing = timing or Timing()
        self._lock = asyncio.Lock()
        self._clients: list[SessionHolder] = []
        self._last_failed_open: float | None = None
        #: Turns taken since creation (diagnostics, benchmarks).
        self.turns = 0
        #: When (event-loop time) the line was handed over, while it is.
        self.held_since: float | None = None
        self._takers: list[LineTaker] = []
        #: The taker (gateway) whose client has the line or is waiting for it, if any.
        self.taker: LineTaker | None = None

    @staticmethod
    def loop_time() -> float:
        """The clock :attr:`held_since` is on."""
        return asyncio.get_running_loop().time()

    @property
    def held(self) -> bool:
        """True while someone else has the line (see :meth:`hold`)."""
        return self.held_since is not None

    @property
    def line(self) -> LineSettings:
        """Where the line goes and its start settings."""
        return self.transport.settings

    def attach(self, client: SessionHolder) -> None:
        """Register a client whose session must end when the line is handed over."""
        self._clients.append(client)

    def detach(self, client: SessionHolder) -> None:
        """Forget a client (it has closed)."""
        with contextlib.suppress(ValueError):
            self._clients.remove(client)

    def add_taker(self, taker: LineTaker) -> None:
        """Register a gateway; two on one bus cannot share a priority (ValueError)."""
        if any(other is not taker and other.priority == taker.priority for other in self._takers):
            raise ValueError(
                f"priority {taker.priority} is already used by another gateway on {self.line.url}"
            )
        if taker not in self._takers:
            self._takers.append(taker)

    def remove_taker(self, taker: LineTaker) -> None:
        """Forget a gateway (it has stopped), and any claim it holds."""
        with contextlib.suppress(ValueError):
            self._takers.remove(taker)
        self.unclaim(taker)

    def claim(self, taker: LineTaker) -> bool:
        """Ask for the line for ``taker``'s client; True when granted.

        Granted when nobody has it, or when the current taker ranks lower: that one is
        told to let go, and ``taker`` then waits in :meth:`hold` like anyone else. Only
        this bookkeeping happens here; the line itself is taken with :meth:`hold`.
        """
        current = self.taker
        if current is not None and current is not taker:
            if current.priority <= taker.priority:  # 1 outranks 2
                return False
            current.let_go()
        self.taker = taker
        return True

    def unclaim(self, taker: LineTaker) -> None:
        """``taker``'s client has left: the line is no longer claimed by it."""
        if self.taker is taker:
            self.taker = None

    async def run[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one meter's exchange while no other meter uses the line."""
        async with self._lock:
            self.turns += 1
            return await operation()

    async def ensure_open(self) -> None:
        """Open the line if it is not; call within a turn.

        After a failed open the next attempt waits for the reconnect delay: a missing
        converter must not be hammered by every meter's poll.
        """
        if self.transport.is_open:
            return
        loop = asyncio.get_running_loop()
        if self._last_failed_open is not None:
            wait = self._last_failed_open + self.timing.reconnect_delay - loop.time()
            if wait > 0:
                raise CannotConnect(f"{self.line.url}: next connection attempt in {wait:.0f} s")
        try:
            await self.transport.open()
        except CannotConnect:
            self._last_failed_open = loop.time()
            raise
        self._last_failed_open = None

    async def drop_line(self) -> None:
        """Close a broken line; the next turn opens it again. Call within a turn."""
        await self.transport.close()

    async def set_speed(self, baudrate: int) -> None:
        """Change the speed of the open line; call within a turn."""
        await self.transport.set_baudrate(baudrate)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[Transport]:
        """Take the whole line: wait for the current turn, end every session, pause.

        The meters' next turns wait until the block ends; their sessions start afresh.
        """
        async with self._lock:
            await self._end_sessions()
            self.held_since = asyncio.get_running_loop().time()
            try:
                yield self.transport
            finally:
                self.held_since = None

    async def close(self) -> None:
        """End every session and release the port or socket."""
        async with self._lock:
            await self._end_sessions()
            await self.transport.close()

    async def _end_sessions(self) -> None:
        for client in list(self._clients):
            try:
                await client.end_session()
            except MeterError as err:
                _LOGGER.debug("%s: ending a session: %s", self.line.url, err)

    async def __aenter__(self) -> Self:
        """Nothing to open yet: the first turn connects."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End every session and release the line."""
        await self.close()
