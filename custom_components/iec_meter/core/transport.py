"""One byte pipe to a meter over ``serialx``: serial paths, ``socket://`` and ``rfc2217://``.

The transport knows nothing of frames: it opens and closes the line (always closing it,
since Home Assistant opens serial ports exclusively and a leaked port breaks the next
setup), sends bytes, changes the speed of an open line (IEC 62056-21 modes B and C), and
hands over whatever bytes have arrived, waiting at most as long as the caller allows.

What arrives while nobody reads (a babbling converter, a wrong baud rate, another
master on the bus) is kept only up to :data:`RECEIVE_BUFFER_LIMIT` bytes: the oldest
bytes are dropped and counted, so a noisy line can never grow memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging
from typing import Final

import serialx

from .errors import CannotConnect, ConnectionLost

_LOGGER = logging.getLogger(__name__)

try:
    import termios
except ImportError:  # pragma: no cover - Windows has no termios
    termios = None  # type: ignore[assignment]
    _PORT_SETUP_ERRORS: tuple[type[Exception], ...] = ()
else:
    # serialx before 1.15 lets termios.error (not an OSError) through when the port
    # refuses a setting, e.g. a pseudo-terminal asked for parity.
    _PORT_SETUP_ERRORS = (termios.error,)
#: What opening or reconfiguring a port raises when the port cannot do it.
_LINE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    serialx.SerialException,
    *_PORT_SETUP_ERRORS,
)

DEFAULT_BAUDRATE: Final = 9600
DEFAULT_BYTESIZE: Final = 8
DEFAULT_PARITY: Final = "N"
DEFAULT_STOPBITS: Final = 1.0
DEFAULT_CONNECT_TIMEOUT_S: Final = 10.0
#: Received bytes kept while nobody reads. A whole IEC 62056-21 readout fits many times.
RECEIVE_BUFFER_LIMIT: Final = 64 * 1024
#: Longest wait for written bytes to leave the port's buffers.
DRAIN_TIMEOUT_S: Final = 5.0
BAUDRATES: Final = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
BYTESIZES: Final = (7, 8)
PARITIES: Final = ("N", "E", "O")
STOPBITS: Final = (1.0, 2.0)
#: Schemes that reach a converter over the network; anything else is a local port.
NETWORK_SCHEMES: Final = ("socket://", "rfc2217://")
#: A raw TCP converter runs its serial side at a fixed speed: the client cannot change it.
FIXED_SPEED_SCHEMES: Final = ("socket://",)


def is_network_url(url: str) -> bool:
    """True for a TCP serial converter (raw or RFC 2217)."""
    return url.startswith(NETWORK_SCHEMES)


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Where the meter is and how to talk to it at the byte level."""

    url: str
    baudrate: int = DEFAULT_BAUDRATE
    bytesize: int = DEFAULT_BYTESIZE
    parity: str = DEFAULT_PARITY
    stopbits: float = DEFAULT_STOPBITS
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    #: Pause after connecting before the first frame (some TCP converters need it).
    settle_delay: float = 0.0

    def __post_init__(self) -> None:
        """Refuse settings no serial port accepts, with a message naming the field."""
        if not self.url:
            raise ValueError("url is empty")
        if self.baudrate not in BAUDRATES:
            raise ValueError(f"baud rate {self.baudrate} not one of {BAUDRATES}")
        if self.bytesize not in BYTESIZES:
            raise ValueError(f"data bits {self.bytesize} not one of {BYTESIZES}")
        if self.parity not in PARITIES:
            raise ValueError(f"parity {self.parity!r} not one of {PARITIES}")
        if self.stopbits not in STOPBITS:
            raise ValueError(f"stop bits {self.stopbits} not one of {STOPBITS}")
        if self.connect_timeout <= 0:
            raise ValueError("connect timeout must be positive")
        if self.settle_delay < 0:
            raise ValueError("settle delay cannot be negative")

    @property
    def can_change_speed(self) -> bool:
        """False for a raw TCP converter, whose serial side keeps its own speed."""
        return not self.url.startswith(FIXED_SPEED_SCHEMES)

    @property
    def bits_per_byte(self) -> int:
        """Bits one byte takes on the wire (start + data + parity + stop)."""
        return 1 + self.bytesize + (self.parity != "N") + int(self.stopbits)


class _LineProtocol(asyncio.Protocol):
    """Collects received bytes (the newest ``limit`` of them) and wakes the reader."""

    def __init__(self, limit: int) -> None:
        self.buffer = bytearray()
        self.limit = limit
        self.dropped = 0
        self.arrived = asyncio.Event()
        self.lost: BaseException | None = None
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.buffer.extend(data)
        excess = len(self.buffer) - self.limit
        if excess > 0:
            del self.buffer[:excess]
            self.dropped += excess
        self.arrived.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self.arrived.set()


class Transport:
    """An open-able, close-able byte pipe to one line (a port or a converter)."""

    def __init__(self, settings: LineSettings, buffer_limit: int = RECEIVE_BUFFER_LIMIT) -> None:
        """Remember the settings; nothing is opened yet."""
        self.settings = settings
        self.buffer_limit = buffer_limit
        self._transport: serialx.BaseSerialTransport | None = None
        self._protocol: _LineProtocol | None = None
        #: Bytes sent and received since creation (benchmarks compare with wire time).
        self.bytes_sent = 0
        self.bytes_received = 0
        #: Connections made since creation: a new one may reach another meter.
        self.opens = 0
        #: Received bytes dropped because nobody read them in time (diagnostics).
        self._dropped_before = 0
        #: The speed the open line runs at (it may differ from the settings' start speed).
        self.baudrate = settings.baudrate

    @property
    def bytes_dropped(self) -> int:
        """Received bytes dropped because the buffer was full, since creation."""
        current = self._protocol.dropped if self._protocol is not None else 0
        return self._dropped_before + current

    @property
    def is_open(self) -> bool:
        """True while the line is usable."""
        return self._protocol is not None and not self._protocol.closed

    async def open(self) -> None:
        """Open the line, or raise :class:`CannotConnect` with the reason."""
        if self.is_open:
            return
        await self.close()
        settings = self.settings
        protocol = _LineProtocol(self.buffer_limit)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(settings.connect_timeout):
                transport, _ = await serialx.create_serial_connection(
                    loop,
                    lambda: protocol,
                    settings.url,
                    baudrate=settings.baudrate,
                    parity=serialx.Parity(settings.parity),
                    stopbits=serialx.StopBits(settings.stopbits),
                    byte_size=settings.bytesize,
                )
        except TimeoutError as err:
            raise CannotConnect(
                f"{settings.url}: no connection within {settings.connect_timeout:g} s"
            ) from err
        except _LINE_ERRORS as err:
            raise CannotConnect(f"{settings.url}: {err}") from err
        self._transport = transport
        self._protocol = protocol
        self.opens += 1
        self.baudrate = settings.baudrate
        self._check_input_parity()
        _LOGGER.debug("opened %s", settings.url)
        if settings.settle_delay:
            await asyncio.sleep(settings.settle_delay)

    async def close(self) -> None:
        """Close the line and wait until it is released; safe to call at any time."""
        transport, self._transport = self._transport, None
        if self._protocol is not None:
            self._dropped_before += self._protocol.dropped
            self._protocol = None
        if transport is None:
            return
        transport.close()
        try:
            async with asyncio.timeout(self.settings.connect_timeout):
                await transport.wait_closed()
        except (TimeoutError, OSError, serialx.SerialException) as err:
            _LOGGER.debug("closing %s: %s", self.settings.url, err)
            transport.abort()
        _LOGGER.debug("closed %s", self.settings.url)

    def write(self, data: bytes) -> None:
        """Queue bytes for sending."""
        self._require_open()
        assert self._transport is not None
        self._transport.write(data)
        self.bytes_sent += len(data)

    async def drain(self) -> None:
        """Wait until what was written has left the port (bounded; best effort)."""
        transport = self._transport
        if transport is None:
            return
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await transport.flush()
        except (TimeoutError, NotImplementedError, OSError, serialx.SerialException) as err:
            _LOGGER.debug("%s: drain: %r", self.settings.url, err)

    async def set_baudrate(self, baudrate: int) -> None:
        """Change the speed of the open line (no-op for a raw TCP converter).

        serialx 1.15 and later reconfigure an open port with ``reconfigure_port``; older
        releases change it through the port object's ``baudrate`` property.
        """
        if baudrate not in BAUDRATES:
            raise ValueError(f"baud rate {baudrate} not one of {BAUDRATES}")
        if not self.settings.can_change_speed or baudrate == self.baudrate:
            return
        self._require_open()
        transport = self._transport
        assert transport is not None
        try:
            reconfigure = getattr(transport, "reconfigure_port", None)
            if reconfigure is not None:
                await reconfigure(baudrate=baudrate)
            else:
                transport.serial.baudrate = baudrate
        except _LINE_ERRORS as err:
            raise ConnectionLost(
                f"{self.settings.url}: cannot switch to {baudrate} baud: {err}"
            ) from err
        self.baudrate = baudrate
        # Both serialx releases write the whole termios again: the parity check too.
        self._check_input_parity()
        _LOGGER.debug("%s: now at %d baud", self.settings.url, baudrate)

    def _check_input_parity(self) -> None:
        """Have a local port with parity E/O check it on what it receives.

        serialx (1.7 to 1.15 at least) has no option for it: it builds the input flags
        without INPCK, so a character with a parity error arrives as a good byte and
        only the protocol's checksum stands between it and a reading. With INPCK (and
        neither IGNPAR nor PARMRK) the kernel delivers such a character as NUL: the
        frame is then damaged for certain (or right, if the byte was NUL) and asked
        again at once. POSIX only, set on the port's descriptor after serialx; on
        Windows serialx leaves the DCB's fParity as the driver has it. A network URL
        has no parity of its own: the converter's serial side checks it, or not.
        """
        settings = self.settings
        transport = self._transport
        if settings.parity == "N" or is_network_url(settings.url) or termios is None:
            return
        if transport is None:
            return
        try:
            fd = transport.serial.fileno()
            attributes = termios.tcgetattr(fd)
            attributes[0] = (attributes[0] | termios.INPCK) & ~(termios.IGNPAR | termios.PARMRK)
            termios.tcsetattr(fd, termios.TCSANOW, attributes)
        except (OSError, ValueError, AttributeError, termios.error) as err:
            _LOGGER.debug("%s: parity of received bytes not checked: %s", settings.url, err)

    def discard_input(self) -> bytes:
        """Drop (and return) bytes received but not yet read."""
        protocol = self._require_open()
        stale = bytes(protocol.buffer)
        protocol.buffer.clear()
        protocol.arrived.clear()
        return stale

    async def receive(self, wait: float) -> bytes:
        """Bytes received so far, waiting up to ``wait`` s for at least one.

        Raises :class:`TimeoutError` when nothing came and :class:`ConnectionLost` when
        the other end closed.
        """
        protocol = self._require_open()
        if not protocol.buffer:
            protocol.arrived.clear()
            async with asyncio.timeout(max(wait, 0.0)):
                await protocol.arrived.wait()
        if protocol.buffer:
            data = bytes(protocol.buffer)
            protocol.buffer.clear()
            self.bytes_received += len(data)
            return data
        self._require_open()
        raise ConnectionLost(f"{self.settings.url}: connection closed")  # pragma: no cover

    def _require_open(self) -> _LineProtocol:
        protocol = self._protocol
        if protocol is None:
            raise ConnectionLost(f"{self.settings.url}: not open")
        if protocol.closed and not protocol.buffer:
            reason = f": {protocol.lost}" if protocol.lost else ""
            raise ConnectionLost(f"{self.settings.url}: connection closed{reason}")
        return protocol
