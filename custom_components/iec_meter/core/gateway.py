"""A pass-through gateway: another program reaches the meters on a line over TCP.

Some jobs (a utility's load-profile download, a vendor's tool) need the meter itself,
but the meter's port is ours. A gateway listens on a TCP port; when a program connects,
it takes the whole line from the bus (:meth:`Bus.hold`: the current exchange ends, every
open session logs out, polling pauses) and relays bytes both ways unchanged, so the
program sees the meters as if it were wired to them. When the program disconnects, or
sends nothing for the inactivity timeout, its connection closes and the line goes back
to polling, whose sessions start afresh.

One program at a time per gateway: another one is refused while the first is connected.
Several gateways may serve one line, each with its own priority (distinct on one bus; 1 is
the highest, 10 the lowest, as the industrial clients count): a program connecting to a
gateway of higher priority takes the line from a lower one's
program (whose connection closes), and one connecting to a lower gateway meanwhile is
refused.

A client's bytes are relayed, never parsed, and never logged (debug logs counts only).
Everything is bounded: the relay reads in chunks, waits for the client to take what the
meter sends, and the line's receive buffer keeps at most its limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import errno
import ipaddress
import logging
import time
from typing import Any, Final

from .bus import Bus
from .errors import CannotConnect, ConnectionLost
from .transport import Transport

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 5001
DEFAULT_HOST: Final = "127.0.0.1"
PRIORITY_MIN: Final = 1
PRIORITY_MAX: Final = 10
DEFAULT_INACTIVITY_TIMEOUT_MS: Final = 60_000
#: Bytes read from the client (or handed to it) at once.
CHUNK_SIZE: Final = 4096
#: Longest wait for the line (the current exchange and the logouts) for a new client.
LINE_WAIT_S: Final = 60.0
#: Longest wait for a client to take the meter's bytes; one that takes none is dropped.
CLIENT_DRAIN_S: Final = 10.0
#: Longest wait for a closing connection, or for a stopping gateway's client to leave.
CLOSE_WAIT_S: Final = 5.0
#: One wait for the meter's bytes; it is simply renewed (the relay has no deadline).
_METER_WAIT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Where a gateway listens, its rank among the gateways of a line, and its patience."""

    #: TCP port (0 picks a free one, for tests).
    port: int = DEFAULT_PORT
    #: The network interface: 127.0.0.1 (this machine only), 0.0.0.0 (any) or an address.
    host: str = DEFAULT_HOST
    #: 1-10, distinct among the gateways of one line; a higher one takes the line.
    #: 1 (highest) to 10 (lowest).
    priority: int = PRIORITY_MIN
    #: A client that sends nothing for this long is dropped (0: never).
    inactivity_timeout_ms: int = DEFAULT_INACTIVITY_TIMEOUT_MS

    def __post_init__(self) -> None:
        """Refuse settings a listener cannot use, with a message naming the field."""
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} out of range (0-65535)")
        if self.host != "localhost":
            try:
                ipaddress.ip_address(self.host)
            except ValueError:
                raise ValueError(
                    f"host {self.host!r} is not an IP address (0.0.0.0, 127.0.0.1 or one of "
                    "this machine's addresses)"
                ) from None
        if not PRIORITY_MIN <= self.priority <= PRIORITY_MAX:
            raise ValueError(
                f"priority {self.priority} out of range ({PRIORITY_MIN}-{PRIORITY_MAX})"
            )
        if self.inactivity_timeout_ms < 0:
            raise ValueError("inactivity timeout cannot be negative (0 means never)")

    @property
    def inactivity_timeout(self) -> float | None:
        """The inactivity timeout in seconds, None for never."""
        return self.inactivity_timeout_ms / 1000 if self.inactivity_timeout_ms else None


def _address(peer: Any) -> str:
    """``host:port`` of a socket address (``[host]:port`` for IPv6)."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return "unknown"  # the client left before it was accepted


class Gateway:
    """A TCP listener that hands the line of ``bus`` to one outside client at a time."""

    def __init__(
        self,
        bus: Bus,
        settings: GatewaySettings,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """Prepare the gateway; nothing listens before :meth:`start`."""
        self.bus = bus
        self.settings = settings
        self._on_change = on_change
        #: The port listened on (the chosen one when the settings say 0), once started.
        self.port = settings.port
        self._server: asyncio.Server | None = None
        self._client: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._end_reason: str | None = None
        self._held_since: float | None = None
        #: ``host:port`` of the connected client, if any.
        self.client_address: str | None = None
        #: ``host:port`` of the last client served (kept after it leaves).
        self.last_client: str | None = None
        #: Bytes relayed from clients to the line, and from the line to clients.
        self.bytes_to_meter = 0
        self.bytes_from_meter = 0
        #: Clients accepted, and clients refused (busy, or outranked).
        self.clients_served = 0
        self.clients_refused = 0

    # --- state -------------------------------------------------------------------------
    @property
    def priority(self) -> int:
        """Rank among the gateways of the bus (1 highest)."""
        return self.settings.priority

    @property
    def listening(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def in_use(self) -> bool:
        """True while a client is connected (it has the line or is about to)."""
        return self.client_address is not None

    @property
    def held_seconds(self) -> float | None:
        """How long the current client has had the line, None when no client has it."""
        if self._held_since is None:
            return None
        return time.monotonic() - self._held_since

    @property
    def name(self) -> str:
        """Where it listens, for logs."""
        return f"{self.settings.host}:{self.port}"

    # --- life cycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Listen; :class:`CannotConnect` when the port is in use or the address is wrong.

        A gateway whose priority another one on the bus already has raises ValueError.
        """
        if self._server is not None:
            return
        self.bus.add_taker(self)
        host, port = self.settings.host, self.settings.port
        try:
            self._server = await asyncio.start_server(
                self._accept, host, port, limit=2 * CHUNK_SIZE
            )
        except OSError as err:
            self.bus.remove_taker(self)
            if err.errno == errno.EADDRINUSE:
                raise CannotConnect(
                    f"port {port} on {host} is in use (another gateway or program listens "
                    "on it): choose another port"
                ) from err
            raise CannotConnect(
                f"cannot listen on port {port} on {host}: {err.strerror or err}"
            ) from err
        self.port = self._server.sockets[0].getsockname()[1]
        _LOGGER.info("gateway %s: listening for %s", self.name, self.bus.line.url)

    async def stop(self) -> None:
        """Stop listening, close the client's connection and give the line back.

        Safe to call at any time, and more than once.
        """
        server, self._server = self._server, None
        self.bus.remove_taker(self)
        if server is not None:
            server.close()
        self._drop_client("the gateway stopped")
        tasks = set(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT_S):
                    await server.wait_closed()
            _LOGGER.info("gateway %s: stopped", self.name)

    def let_go(self) -> None:
        """A gateway of higher priority wants the line: drop the client (does not wait)."""
        self._drop_client("a gateway of higher priority took the line")

    def _drop_client(self, reason: str) -> None:
        task = self._client
        if task is not None and not task.done():
            self._end_reason = reason
            task.cancel()

    # --- one client --------------------------------------------------------------------
    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _address(writer.get_extra_info("peername"))
        refusal = None
        if self._server is None:  # pragma: no cover - a client accepted as stop() began
            refusal = "the gateway is stopping"
        elif self._client is not None:
            refusal = f"{self.client_address} is connected (one client at a time)"
        elif not self.bus.claim(self):
            refusal = "a gateway of higher priority has the line"
        if refusal is not None:
            self.clients_refused += 1
            _LOGGER.info("gateway %s: refused %s: %s", self.name, peer, refusal)
            writer.close()
            return
        self.client_address = self.last_client = peer
        self.clients_served += 1
        self._end_reason = None
        task = asyncio.create_task(self._serve(reader, writer), name=f"gateway {self.name}")
        self._client = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._notify()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = self.client_address
        reason = "unknown"
        try:
            reason = await self._hold_and_relay(reader, writer)
        except asyncio.CancelledError:
            reason = self._end_reason or "cancelled"
            raise
        finally:
            self.bus.unclaim(self)
            self._client = None
            self.client_address = None
            self._held_since = None
            _LOGGER.info(
                "gateway %s: %s left (%s); polling of %s resumes",
                self.name,
                peer,
                reason,
                self.bus.line.url,
            )
            self._notify()
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT_S):
                    await writer.wait_closed()

    async def _hold_and_relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str:
        """Take the line and relay until the client leaves; returns why it ended."""
        try:
            async with asyncio.timeout(LINE_WAIT_S) as waiting, self.bus.hold() as transport:
                waiting.reschedule(None)
                self._held_since = time.monotonic()
                _LOGGER.info(
                    "gateway %s: %s has the line; polling of %s paused",
                    self.name,
                    self.client_address,
                    self.bus.line.url,
                )
                self._notify()
                try:
                    await self.bus.ensure_open()
                    # The outside program starts at the line's speed (a meter read in
                    # IEC 62056-21 mode C may have left it elsewhere).
                    await self.bus.set_speed(self.bus.line.baudrate)
                except (CannotConnect, ConnectionLost) as err:
                    return f"the line cannot be opened: {err}"
                transport.discard_input()
                try:
                    return await self._relay(reader, writer, transport)
                finally:
                    if transport.is_open:
                        # What the meter still sends is the client's, not the next poll's.
                        transport.discard_input()
        except TimeoutError:
            return f"the line stayed busy for {LINE_WAIT_S:g} s"

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: Transport
    ) -> str:
        to_meter = asyncio.create_task(self._to_meter(reader, transport))
        to_client = asyncio.create_task(self._to_client(writer, transport))
        directions = (to_meter, to_client)
        try:
            done, _ = await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in directions:
                task.cancel()
            await asyncio.wait(directions)
        return done.pop().result()

    async def _to_meter(self, reader: asyncio.StreamReader, transport: Transport) -> str:
        idle = self.settings.inactivity_timeout
        while True:
            try:
                async with asyncio.timeout(idle):
                    data = await reader.read(CHUNK_SIZE)
            except TimeoutError:
                return f"nothing from it for {idle:g} s"
            except OSError as err:
                return f"its connection failed: {err}"
            if not data:
                return "it disconnected"
            try:
                transport.write(data)
            except ConnectionLost as err:  # pragma: no cover - the line closed in between
                return f"the line closed: {err}"
            self.bytes_to_meter += len(data)
            _LOGGER.debug("gateway %s: %d bytes to the line", self.name, len(data))
            await transport.drain()

    async def _to_client(self, writer: asyncio.StreamWriter, transport: Transport) -> str:
        while True:
            try:
                data = await transport.receive(_METER_WAIT_S)
            except TimeoutError:
                continue
            except ConnectionLost as err:
                return f"the line closed: {err}"
            writer.write(data)
            self.bytes_from_meter += len(data)
            _LOGGER.debug("gateway %s: %d bytes to the client", self.name, len(data))
            try:
                async with asyncio.timeout(CLIENT_DRAIN_S):
                    await writer.drain()
            except TimeoutError:
                return f"it took nothing for {CLIENT_DRAIN_S:g} s"
            except OSError as err:
                return f"its connection failed: {err}"

    def _notify(self) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change()
        except Exception:
            _LOGGER.exception("gateway %s: the change callback failed", self.name)
