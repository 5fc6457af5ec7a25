"""A simulated IEC 62056-21 line: TCP converter or pseudo-terminal, pacing and faults.

The line paces every answer at the speed the protocol is at (the meter's logical
speed: 300 baud for the sign-on, the switched speed for the data), so a benchmark over
TCP measures real wire time. Over a pseudo-terminal the client's speed changes do not
change anything on the wire, but Linux lets the master side read the speed the client
set: the line compares it with the meter's speed and, like a real line, turns bytes
sent at the wrong speed into noise. Over TCP the meter's speed is only logical.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
import logging
from pathlib import Path
import random
import termios
from zoneinfo import ZoneInfo

from custom_components.iec_meter.core.iec62056.constants import (
    ACK,
    BAUDRATES,
    BITS_PER_CHAR,
    CR,
    EOT,
    ETX,
    INITIAL_BAUDRATE,
    LF,
    NAK,
    PARITY_BIT,
    SEVEN_BIT_MASK,
    SOH,
    START_CHAR,
    STX,
    Mode,
)
from custom_components.iec_meter.core.iec62056.messages import add_even_parity, strip_parity

from .iec62056_meter import (
    Iec62056MeterConfig,
    MeterBus,
    Outgoing,
    SimulatedIec62056Meter,
    load_data_file,
)
from .meter_model import MeterModel
from .pty_port import READ_SIZE, PtyPort

_LOGGER = logging.getLogger(__name__)

_PACING_CHUNK = 4
_GARBAGE_LENGTH = (2, 9)
_SPECIAL = frozenset((SOH, STX, ETX, EOT, ACK, NAK, CR, LF, START_CHAR[0]))
#: Noise that no message parser can take for the start of a message.
_NOISE = bytes(byte for byte in range(0x20, 0x7F) if byte not in _SPECIAL) + bytes((0x7F, 0xFF))
#: termios speed constants of the speeds a meter uses.
_TERMIOS_SPEEDS = {getattr(termios, f"B{baud}"): baud for baud in BAUDRATES}


@dataclass
class Iec62056Faults:
    """Misbehaviour to inject; 0 / False disables each one."""

    #: Close the connection when it has carried this many requests.
    drop_after: int = 0
    #: Damage the BCC of every Nth data block sent.
    corrupt_every: int = 0
    #: Ignore every Nth sign-on.
    silent_every: int = 0
    #: Send line noise before every Nth transmission.
    garbage_every: int = 0
    #: Echo every byte received (an optical head that hears itself).
    echo: bool = False


@dataclass
class Iec62056LineOptions:
    """Timing, framing and faults of the line."""

    #: Pace answers at the protocol's speed (off: as fast as possible). Requests are
    #: always heard only after their own wire time, as on a real line.
    pace: bool = True
    #: An 8N1 converter in front of a 7E1 meter: bytes carry even parity in bit 7, and
    #: received bytes with a wrong bit 7 are parity errors the meter ignores.
    parity_bit7: bool = False
    #: Mode D: seconds between two pushes (the button being pressed).
    push_interval: float = 1.0
    initial_baudrate: int = INITIAL_BAUDRATE
    faults: Iec62056Faults = field(default_factory=Iec62056Faults)
    seed: int = 1
    #: On a pty, the first data block after a speed change waits up to this long for
    #: the client's port to reach the speed switched to. A real client switches within
    #: the meter's 200 ms reaction time; one on a loaded test machine may not (serialx
    #: sets the speed in an executor thread), and would then hear a meter that never
    #: switches at the right speed. 0: the meter's timing alone, as on a real line.
    await_switch_s: float = 0.0


#: How often a transmission waiting for the client's speed looks at it.
_SPEED_POLL_S = 0.005


class _Dropped(Exception):
    """The fault injector cut the connection."""


class Iec62056Line:
    """The meters on one line and what the line does to their bytes."""

    def __init__(self, meters: list[SimulatedIec62056Meter], options: Iec62056LineOptions) -> None:
        """Set the line up; nothing is served yet."""
        self.meters = meters
        self.options = options
        self.bus = MeterBus(meters, options.initial_baudrate, options.faults.silent_every)
        self.connections = 0
        self.data_sent = 0
        self.transmissions = 0
        #: (kind, meter speed, client speed or None) of every transmission, for tests.
        self.sent: list[tuple[str, int, int | None]] = []
        self.parity_errors = 0
        self._random = random.Random(options.seed)
        self._busy = False
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: The tasks serving TCP clients (ended by :meth:`stop`, not left to linger).
        self._handlers: set[asyncio.Task[object]] = set()
        self._pty: PtyPort | None = None
        self._send_lock = asyncio.Lock()

    # --- serving -------------------------------------------------------------------
    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen like a TCP serial converter; returns its ``socket://`` URL."""
        self._server = await asyncio.start_server(self._handle_client, host, port)
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        return f"socket://{bound_host}:{bound_port}"

    async def start_pty(self) -> str:
        """Serve on a pseudo-terminal; returns the path a client opens."""
        pty = self._pty = PtyPort()

        def speed() -> int | None:
            return _TERMIOS_SPEEDS.get(termios.tcgetattr(pty.master)[4])

        self.bus.reset()
        self._tasks.append(asyncio.create_task(self._serve(pty.read, pty.write, None, speed)))
        self._tasks.append(asyncio.create_task(self._push_loop(pty.write, speed)))
        return pty.path

    async def stop(self) -> None:
        """Stop serving and release every socket and descriptor."""
        if self._server is not None:
            self._server.close()
            # Like a converter switched off: the open connection goes too.
            self._server.close_clients()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._server.wait_closed()
            self._server = None
        for task in (*self._handlers, *self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._handlers.clear()
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    async def _handle_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        if self._busy:
            _LOGGER.info("refused a second connection")
            writer.close()
            return
        self._busy = True
        self.connections += 1
        self.bus.reset()
        push = asyncio.create_task(self._push_loop(writer.write, None))
        try:
            await self._serve(lambda: reader.read(READ_SIZE), writer.write, writer, None)
        except (ConnectionError, _Dropped) as err:
            _LOGGER.info("connection ended: %s", err or type(err).__name__)
        finally:
            push.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await push
            self._busy = False
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()

    async def _push_loop(
        self, write: Callable[[bytes], object], speed: Callable[[], int | None] | None
    ) -> None:
        """Mode D meters push their readout every push interval."""
        if not any(meter.config.mode is Mode.D for meter in self.meters):
            return
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.options.push_interval)
            async with self._send_lock:
                for item in self.bus.push():
                    await self._send(item, loop.time(), write, None, speed)

    async def _serve(
        self,
        read: Callable[[], Awaitable[bytes]],
        write: Callable[[bytes], object],
        writer: asyncio.StreamWriter | None,
        speed: Callable[[], int | None] | None,
    ) -> None:
        faults = self.options.faults
        loop = asyncio.get_running_loop()
        messages_before = self.bus.messages
        while True:
            data = await read()
            if not data:
                return
            received_at = loop.time()
            if faults.echo:
                write(data)
            data = self._received(data)
            if speed is not None and speed() not in self.bus.listening_speeds():
                _LOGGER.debug("client at %s baud: %d bytes not understood", speed(), len(data))
                continue
            answers = self.bus.feed(data)
            dropping = faults.drop_after and writer is not None
            if dropping and self.bus.messages - messages_before >= faults.drop_after:
                raise _Dropped(f"dropped after {faults.drop_after} requests")
            async with self._send_lock:
                ready = received_at
                for item in answers:
                    ready = await self._send(item, ready, write, writer, speed)

    def _received(self, data: bytes) -> bytes:
        """What the meter understands of received bytes (parity errors dropped)."""
        if not self.options.parity_bit7:
            return strip_parity(data)
        good = bytes(
            byte for byte in data if add_even_parity(bytes((byte & SEVEN_BIT_MASK,)))[0] == byte
        )
        self.parity_errors += len(data) - len(good)
        return strip_parity(good)

    def _wire_time(self, length: int, baud: int) -> float:
        return length * BITS_PER_CHAR / baud if self.options.pace else 0.0

    async def _send(
        self,
        item: Outgoing,
        ready: float,
        write: Callable[[bytes], object],
        writer: asyncio.StreamWriter | None,
        speed: Callable[[], int | None] | None,
    ) -> float:
        """Send one transmission paced at its speed; returns when it ended."""
        loop = asyncio.get_running_loop()
        faults = self.options.faults
        # The meter hears a request only once its last character is off the wire.
        ready += item.after_request * BITS_PER_CHAR / item.request_baudrate
        ready += item.delay
        delay = ready - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if item.switched_to is not None and speed is not None and self.options.await_switch_s:
            await self._await_speed(speed, item.switched_to)
        self.transmissions += 1
        data = item.data
        if item.kind == "data":
            self.data_sent += 1
            if faults.corrupt_every and self.data_sent % faults.corrupt_every == 0:
                data = data[:-1] + bytes(((data[-1] + 1) & SEVEN_BIT_MASK,))
        if faults.garbage_every and self.transmissions % faults.garbage_every == 0:
            data = self._noise() + data
        client_speed = speed() if speed is not None else None
        self.sent.append((item.kind, item.baudrate, client_speed))
        if client_speed is not None and client_speed != item.baudrate:
            _LOGGER.debug("client at %d baud, meter at %d: noise", client_speed, item.baudrate)
            data = bytes(self._random.choice(_NOISE) for _ in data)
        if self.options.parity_bit7:
            data = add_even_parity(data)
        start = loop.time()
        for offset in range(0, len(data), _PACING_CHUNK):
            chunk = data[offset : offset + _PACING_CHUNK]
            due = start + self._wire_time(offset + len(chunk), item.baudrate) - loop.time()
            if due > 0:
                await asyncio.sleep(due)
            write(chunk)
        if writer is not None:
            await writer.drain()
        return loop.time()

    async def _await_speed(self, speed: Callable[[], int | None], target: int) -> None:
        """Until the client's port is at ``target`` baud, or ``await_switch_s`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.options.await_switch_s):
                # A pty tells nobody of a speed change: it is looked at.
                while speed() != target:  # noqa: ASYNC110
                    await asyncio.sleep(_SPEED_POLL_S)

    def _noise(self) -> bytes:
        length = self._random.randint(*_GARBAGE_LENGTH)
        return bytes(self._random.choice(_NOISE) for _ in range(length)) + bytes((PARITY_BIT,))


# --- command line --------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m simulator iec62056``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--tcp", type=_host_port, metavar="HOST:PORT", help="listen on TCP (port 0: any free)"
    )
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal")
    parser.add_argument("--mode", choices=[mode.value for mode in Mode], default="C")
    parser.add_argument(
        "--baud",
        "--baudrate",
        dest="baud",
        type=int,
        default=9600,
        choices=BAUDRATES[1:],
        help="speed the meter announces (modes B, C)",
    )
    parser.add_argument("--initial-baud", type=int, default=INITIAL_BAUDRATE, choices=BAUDRATES)
    parser.add_argument("--address", default="", help="device address (one meter)")
    parser.add_argument(
        "--meter",
        action="append",
        metavar="ADDRESS[:SERIAL]",
        help="a meter on the line (repeat for several); replaces --address/--serial",
    )
    parser.add_argument("--manufacturer", default="ISk", help="3 letters; lowercase 3rd: 20 ms")
    parser.add_argument("--ident", default="5MT174-SIM")
    parser.add_argument("--serial", default="12345678")
    parser.add_argument("--data-file", type=Path, help="data lines, one per line")
    parser.add_argument("--block-lines", type=int, default=0, help="partial blocks of N lines")
    parser.add_argument("--single-phase", action="store_true")
    parser.add_argument("--time-zone", default="Europe/Madrid")
    parser.add_argument("--no-pace", action="store_true", help="answer as fast as possible")
    parser.add_argument(
        "--parity-bit7", action="store_true", help="7E1 meter behind an 8N1 converter"
    )
    parser.add_argument("--push-interval", type=float, default=1.0, help="mode D push (s)")
    parser.add_argument("--seed", type=int, default=1)
    faults = parser.add_argument_group("faults")
    faults.add_argument("--drop-after", type=int, default=0, metavar="N")
    faults.add_argument("--corrupt-every", type=int, default=0, metavar="N")
    faults.add_argument("--silent-every", type=int, default=0, metavar="N")
    faults.add_argument("--garbage-every", type=int, default=0, metavar="N")
    faults.add_argument("--echo", action="store_true", help="echo what it receives")
    faults.add_argument(
        "--fake-switch", action="store_true", help="announce a speed but never switch"
    )
    faults.add_argument("--sleepy", action="store_true", help="answer only after a wake-up")
    parser.add_argument("--verbose", "-v", action="store_true")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _meter_specs(specs: list[str], first_serial: str) -> list[tuple[str, str]]:
    """(address, serial) of each ``--meter ADDRESS[:SERIAL]``; serials count up by default."""
    result = []
    for index, spec in enumerate(specs):
        address, _, serial = spec.partition(":")
        if not serial:
            serial = f"{int(first_serial) + index:08d}" if first_serial.isdigit() else first_serial
        result.append((address, serial))
    return result


def build_line(args: argparse.Namespace) -> Iec62056Line:
    """The meters and line the arguments describe."""
    tz = ZoneInfo(args.time_zone)
    data_lines = load_data_file(args.data_file) if args.data_file else None
    specs = _meter_specs(args.meter, args.serial) if args.meter else [(args.address, args.serial)]
    meters = [
        SimulatedIec62056Meter(
            Iec62056MeterConfig(
                address=address,
                manufacturer=args.manufacturer,
                ident=args.ident,
                mode=Mode(args.mode),
                baudrate=args.baud,
                serial=serial,
                fake_switch=args.fake_switch,
                sleepy=args.sleepy,
                block_lines=args.block_lines,
                data_lines=data_lines,
                three_phase=not args.single_phase,
            ),
            tz,
            lambda: datetime.now(tz),
            MeterModel(three_phase=not args.single_phase, seed=args.seed + index),
        )
        for index, (address, serial) in enumerate(specs)
    ]
    options = Iec62056LineOptions(
        pace=not args.no_pace,
        parity_bit7=args.parity_bit7,
        push_interval=args.push_interval,
        initial_baudrate=args.initial_baud,
        seed=args.seed,
        faults=Iec62056Faults(
            drop_after=args.drop_after,
            corrupt_every=args.corrupt_every,
            silent_every=args.silent_every,
            garbage_every=args.garbage_every,
            echo=args.echo,
        ),
    )
    return Iec62056Line(meters, options)
