"""A simulated meter line: TCP converter or pseudo-terminal, pacing, latency and faults.

Several meters can share the line like an RS-485 bus: every frame goes to all of them
and only the addressed one answers. The line paces what it sends at the configured baud
rate (and waits the request's own wire time first), so timings match a real 9600 baud
line, and injects the faults a test or a newcomer asks for.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import logging
import random

from custom_components.iec_meter.core.iec102.constants import (
    SINGLE_CHAR_ACK,
    START_FIXED,
    START_VARIABLE,
    PrimaryFunction,
    SecondaryFunction,
)
from custom_components.iec_meter.core.iec102.frames import (
    FixedFrame,
    VariableFrame,
    secondary_control,
)
from custom_components.iec_meter.core.iec102.parser import FrameParser

from .iec102_meter import SimulatedMeter
from .pty_port import READ_SIZE, PtyPort

_LOGGER = logging.getLogger(__name__)

#: Bits a byte takes on the wire in the simulator's accounting (start, 8 data, stop).
BITS_PER_BYTE = 10
_PACING_CHUNK = 8
_TRACE_SIZE = 2000
_GARBAGE_BYTES = bytes(b for b in range(256) if b not in (SINGLE_CHAR_ACK,))
_GARBAGE_LENGTH = (2, 9)
_START_BYTES = (START_FIXED, START_VARIABLE)
#: Offset of the second copy of the length byte in a variable frame (68 L L 68).
_LENGTH_COPY = 2
#: A babbling line sends this many random bytes every tick.
_BABBLE_CHUNK = 512
_BABBLE_TICK_S = 0.002


@dataclass
class Faults:
    """Misbehaviour to inject; 0 / empty disables each one."""

    #: Close the connection when it has carried this many frames.
    drop_after: int = 0
    #: Damage the checksum of every Nth answer.
    corrupt_every: int = 0
    #: Ignore every Nth frame received.
    silent_every: int = 0
    #: Send line noise before every Nth answer.
    garbage_every: int = 0
    #: Damage the length byte (second copy) of every Nth answer carrying an ASDU.
    header_noise_every: int = 0
    #: Stream random bytes for this many seconds after each connection (0: never).
    babble: float = 0.0
    #: Answer every class 2 poll with "no data" (the meter never has its answer ready).
    no_data: bool = False


@dataclass
class LineOptions:
    """Timing and faults of the line."""

    baud: int = 0
    latency_ms: float = 0.0
    faults: Faults = field(default_factory=Faults)
    seed: int = 1


class _Dropped(Exception):
    """The fault injector cut the connection."""


class MeterLine:
    """The meters on one line and what the line does to their frames."""

    def __init__(self, meters: list[SimulatedMeter], options: LineOptions) -> None:
        """Set the line up; nothing is served yet."""
        self.meters = meters
        self.options = options
        self.frames_received = 0
        #: Recent frames received (link address, function, ASDU type or None), for tests
        #: that check meters on one bus never talk at the same time.
        self.trace: deque[tuple[int, int, int | None]] = deque(maxlen=_TRACE_SIZE)
        self.answers_sent = 0
        self.data_answers_sent = 0
        self.connections = 0
        #: Random bytes a babbling line has sent.
        self.babbled = 0
        self._random = random.Random(options.seed)
        self._busy = False
        self._server: asyncio.Server | None = None
        self._pty_task: asyncio.Task[None] | None = None
        self._pty: PtyPort | None = None

    # --- serving -------------------------------------------------------------------
    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen like a TCP serial converter; returns its ``socket://`` URL."""
        self._server = await asyncio.start_server(self._handle_client, host, port)
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        return f"socket://{bound_host}:{bound_port}"

    async def start_pty(self) -> str:
        """Serve on a pseudo-terminal; returns the path a client opens."""
        self._pty = PtyPort()
        self._pty_task = asyncio.create_task(self._serve(self._pty.read, self._pty.write, None))
        return self._pty.path

    async def stop(self) -> None:
        """Stop serving and release every socket and descriptor."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._server.wait_closed()
            self._server = None
        if self._pty_task is not None:
            self._pty_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pty_task
            self._pty_task = None
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    async def _handle_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._busy:
            # One session at a time, like a meter behind a converter.
            _LOGGER.info("refused a second connection")
            writer.close()
            return
        self._busy = True
        self.connections += 1
        try:
            await self._serve(lambda: reader.read(READ_SIZE), writer.write, writer)
        except (ConnectionError, _Dropped) as err:
            _LOGGER.info("connection ended: %s", err or type(err).__name__)
        finally:
            self._busy = False
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()

    async def _serve(
        self,
        read: Callable[[], Awaitable[bytes]],
        write: Callable[[bytes], object],
        writer: asyncio.StreamWriter | None,
    ) -> None:
        faults = self.options.faults
        babble: asyncio.Task[None] | None = None
        if faults.babble:
            babble = asyncio.create_task(self._babble(write, faults.babble))
        try:
            await self._answer_frames(read, write, writer)
        finally:
            if babble is not None:
                babble.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await babble

    async def _babble(self, write: Callable[[bytes], object], seconds: float) -> None:
        """A line that streams noise (a converter at the wrong speed, a chattering bus)."""
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(seconds):
                while True:
                    write(self._random.randbytes(_BABBLE_CHUNK))
                    self.babbled += _BABBLE_CHUNK
                    await asyncio.sleep(_BABBLE_TICK_S)

    async def _answer_frames(
        self,
        read: Callable[[], Awaitable[bytes]],
        write: Callable[[bytes], object],
        writer: asyncio.StreamWriter | None,
    ) -> None:
        parser = FrameParser()
        frames_here = 0
        faults = self.options.faults
        loop = asyncio.get_running_loop()
        while True:
            data = await read()
            if not data:
                return
            received_at = loop.time()
            for item in parser.feed(data):
                if not isinstance(item, (FixedFrame, VariableFrame)):
                    continue
                frames_here += 1
                self.frames_received += 1
                asdu_type = item.asdu[0] if isinstance(item, VariableFrame) and item.asdu else None
                self.trace.append((item.address, item.function, asdu_type))
                if faults.drop_after and writer is not None and frames_here >= faults.drop_after:
                    raise _Dropped(f"dropped after {frames_here} frames")
                if faults.silent_every and self.frames_received % faults.silent_every == 0:
                    _LOGGER.debug("fault: staying silent to frame %d", self.frames_received)
                    continue
                answer = self._answer(item)
                if answer is None:
                    continue
                ready = received_at + self._wire_time(len(item.encode()))
                ready += self.options.latency_ms / 1000.0
                await self._send(answer, ready, write, writer)

    def _answer(self, frame: FixedFrame | VariableFrame) -> bytes | None:
        faults = self.options.faults
        answer: bytes | None = None
        if (
            faults.no_data
            and frame.from_primary
            and frame.function == PrimaryFunction.REQUEST_CLASS_2
            and any(
                meter.config.link_address == frame.address and not meter.dead
                for meter in self.meters
            )
        ):
            answer = FixedFrame(
                secondary_control(SecondaryFunction.NO_DATA), frame.address
            ).encode()
        else:
            for meter in self.meters:
                answer = meter.handle(frame) or answer
        if answer is None:
            return None
        self.answers_sent += 1
        if answer[0] == START_VARIABLE:
            self.data_answers_sent += 1
            if (
                faults.header_noise_every
                and self.data_answers_sent % faults.header_noise_every == 0
            ):
                damaged = bytearray(answer)
                damaged[_LENGTH_COPY] ^= 0x01
                answer = bytes(damaged)
        if faults.corrupt_every and self.answers_sent % faults.corrupt_every == 0:
            damaged = bytearray(answer)
            damaged[-2] = (damaged[-2] + 1) % 256
            answer = bytes(damaged)
        if faults.garbage_every and self.answers_sent % faults.garbage_every == 0:
            answer = self._garbage() + answer
        return answer

    def _garbage(self) -> bytes:
        length = self._random.randint(*_GARBAGE_LENGTH)
        noise = bytes(self._random.choice(_GARBAGE_BYTES) for _ in range(length))
        # Line noise that ends in a start byte is the hardest case for resynchronising.
        return b"\xff" + noise + bytes((self._random.choice(_START_BYTES),))

    def _wire_time(self, length: int) -> float:
        baud = self.options.baud
        return length * BITS_PER_BYTE / baud if baud else 0.0

    async def _send(
        self,
        answer: bytes,
        ready: float,
        write: Callable[[bytes], object],
        writer: asyncio.StreamWriter | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        delay = ready - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if not self.options.baud:
            write(answer)
        else:
            start = loop.time()
            for offset in range(0, len(answer), _PACING_CHUNK):
                chunk = answer[offset : offset + _PACING_CHUNK]
                due = start + self._wire_time(offset + len(chunk)) - loop.time()
                if due > 0:
                    await asyncio.sleep(due)
                write(chunk)
        if writer is not None:
            await writer.drain()
