"""IEC 62056-21 against peers that misbehave on purpose: every read ends in bounded time,
with the right error and hint, and leaves no socket, task or buffer behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import os
import random
import re
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import (
    ConnectionLost,
    DamagedAnswers,
    MeterError,
    NoResponse,
    ProtocolError,
)
from custom_components.iec_meter.core.iec62056 import Iec62056Client, Iec62056Settings
from custom_components.iec_meter.core.iec62056.constants import MAX_IDENTIFICATION_BYTES
from custom_components.iec_meter.core.iec62056.errors import ReadoutTooLarge
from custom_components.iec_meter.core.iec62056.messages import (
    add_even_parity,
    bcc,
    data_message,
    strip_parity,
)
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings

TZ = ZoneInfo("Europe/Madrid")
ONCE = Timing(request_timeout_ms=300, retries=0)
TWICE = Timing(request_timeout_ms=300, retries=1)
Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Wait until the client hangs up (then the peer's handler ends)."""
    while await reader.read(1024):
        pass


@contextlib.asynccontextmanager
async def peer(handler: Peer) -> AsyncIterator[str]:
    """A TCP peer on 127.0.0.1 running ``handler`` for each connection.

    On leaving, checks that the client left no socket or task behind.
    """
    fds = len(os.listdir("/proc/self/fd"))
    tasks = len(asyncio.all_tasks())

    handlers: set[asyncio.Task[None]] = set()

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(ConnectionError):
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    host, port = server.sockets[0].getsockname()[:2]
    try:
        yield f"socket://{host}:{port}"
    finally:
        server.close()
        async with asyncio.timeout(5):
            await server.wait_closed()
            if handlers:  # the peer's own handlers end once the client hung up
                await asyncio.wait(handlers)
    assert len(os.listdir("/proc/self/fd")) <= fds
    assert len(asyncio.all_tasks()) <= tasks


async def read_once(url: str) -> tuple[MeterError, float, Iec62056Client]:
    """One read that must fail; the error, how long it took, and the client."""
    started = time.monotonic()
    async with Bus(LineSettings(url, baudrate=2400, bytesize=7, parity="E"), ONCE) as bus:
        client = Iec62056Client(
            bus, Iec62056Settings(t2_ms=200, poll_delay_ms=0, initial_baudrate=2400), TZ
        )
        with pytest.raises(MeterError) as caught:
            await client.read_values()
    took = time.monotonic() - started
    return caught.value, took, client


async def _babble_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # bounded: the test ends long before
        writer.write(b"\x55\x2a" * 512)
        await writer.drain()
        await asyncio.sleep(0.001)


async def test_babble_instead_of_an_identification() -> None:
    async with peer(_babble_forever) as url:
        error, took, client = await read_once(url)
    assert isinstance(error, NoResponse)
    assert "identification" in str(error)
    assert error.hint
    assert took < 3
    assert len(client._buffer) <= MAX_IDENTIFICATION_BYTES


async def _bad_identification(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(b"/?\r\n/X\r\n")  # lines that start like an identification but are not
    await writer.drain()
    await _until_closed(reader)


async def test_lines_that_are_no_identification_are_skipped() -> None:
    async with peer(_bad_identification) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, NoResponse)
    assert took < 3


async def _endless_data(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(b"/ABC5SIM\r\n")
    await writer.drain()
    await reader.read(64)  # the acknowledgement
    writer.write(b"\x02")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # a data message that never ends
        writer.write(b"1.8.0(0000001.0*kWh)\r\n" * 200)
        await writer.drain()


async def test_a_data_message_that_never_ends_is_cut_off() -> None:
    async with peer(_endless_data) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, ProtocolError)
    assert "longer than" in str(error)
    assert took < 10


async def _close_on_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def test_a_converter_that_closes_at_once() -> None:
    async with peer(_close_on_accept) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, ConnectionLost | NoResponse)
    assert error.hint
    assert took < 3


async def _silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _until_closed(reader)


async def test_silence_is_no_response_with_a_hint() -> None:
    async with peer(_silence) as url:
        error, took, _ = await read_once(url)
    assert isinstance(error, NoResponse)
    assert "device address" in str(error) or "device address" in error.hint
    assert took < 2


# --- reads without an end, noise, slow and echoing peers (issue 13, section 6) ---------
#: Every read below must end well within this (the client's own deadlines are shorter).
BOUND_S = 4.0
IDENT = b"/ABC5SIM\r\n"
DATA_LINES = ("C.1.0(87654321)", "1.8.0(0001234.5*kWh)", "2.7.0(0000500.0*W)")
#: What the client must read from :data:`DATA_LINES`.
TRUE_VALUES = {"active_energy_import": 1234.5, "active_power": -0.5}


@contextlib.asynccontextmanager
async def reader_for(
    url: str,
    baudrate: int = 2400,
    timing: Timing = ONCE,
    eight_bits: bool = False,
    **settings: Any,
) -> AsyncIterator[Iec62056Client]:
    """A client on its own bus to ``url`` (7E1, or 8N1 for a 7E1 meter behind a converter)."""
    framing = {"bytesize": 8, "parity": "N"} if eight_bits else {"bytesize": 7, "parity": "E"}
    settings.setdefault("t2_ms", 200)
    settings.setdefault("poll_delay_ms", 0)
    settings.setdefault("initial_baudrate", baudrate)
    async with Bus(LineSettings(url, baudrate=baudrate, **framing), timing) as bus:
        yield Iec62056Client(bus, Iec62056Settings(**settings), TZ)


async def failed_read(url: str, **options: Any) -> tuple[MeterError, float, int]:
    """One read that must fail within :data:`BOUND_S`: error, seconds, largest buffer seen."""
    largest = 0
    async with reader_for(url, **options) as client:

        async def watch() -> None:
            nonlocal largest
            while True:
                largest = max(largest, len(client._buffer))
                await asyncio.sleep(0.001)

        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        try:
            with pytest.raises(MeterError) as caught:
                async with asyncio.timeout(BOUND_S):
                    await client.read_values()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        took = time.monotonic() - started
    return caught.value, took, largest


def assert_not_a_wiring_hint(error: MeterError) -> None:
    """Bytes came: the generic "check the address and wiring" hint would mislead."""
    assert "wiring" not in error.hint
    assert "device address" not in str(error)


def said_seconds(error: MeterError) -> float:
    """The time the message says the read took."""
    found = re.search(r"after (\d+(?:\.\d+)?) s", str(error))
    assert found, str(error)
    return float(found.group(1))


async def _endless_identification(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.read(64)
    writer.write(b"/")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # printable bytes, never CR LF
        writer.write(b"ABCDEFGH" * 64)
        await writer.drain()
        await asyncio.sleep(0.001)


async def test_an_identification_without_end_is_cut_at_its_size() -> None:
    async with peer(_endless_identification) as url:
        error, took, largest = await failed_read(url)
    assert isinstance(error, DamagedAnswers)
    assert f"identification line longer than {MAX_IDENTIFICATION_BYTES} bytes" in str(error)
    assert_not_a_wiring_hint(error)
    assert largest <= MAX_IDENTIFICATION_BYTES
    assert took < BOUND_S


async def _dripping_data(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(IDENT)
    await reader.read(64)  # the acknowledgement
    writer.write(b"\x021.8.0(")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # one byte at a time, never ETX
        writer.write(b"1")
        await writer.drain()
        await asyncio.sleep(0.05)


async def test_a_data_block_that_never_ends_stops_at_its_deadline() -> None:
    async with peer(_dripping_data) as url:
        error, took, largest = await failed_read(url, baudrate=9600, max_readout_bytes=256)
    assert isinstance(error, NoResponse)
    assert re.search(r"no end of data block after \d+\.\d s at 9600 baud", str(error)), error
    assert "256 bytes" in str(error)
    assert_not_a_wiring_hint(error)
    assert said_seconds(error) <= took
    assert largest <= 256
    # The deadline of 256 bytes at 9600 baud, plus the request timeout, not the size cap.
    assert took < 2.5


def _noise(alphabet: bytes | None) -> Peer:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rng = random.Random(13)
        await reader.read(64)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # ~960 bytes a second, as a line at 9600 baud
            burst = rng.randbytes(96)
            if alphabet is not None:
                burst = bytes(alphabet[byte % len(alphabet)] for byte in burst)
            writer.write(burst)
            await writer.drain()
            await asyncio.sleep(0.1)

    return handler


#: Printable characters and CR LF, but no "/": nothing can start an identification.
NO_START = bytes(byte for byte in range(0x20, 0x7F) if byte != ord("/")) + b"\r\n"


@pytest.mark.parametrize("alphabet", [None, NO_START], ids=["any bytes", "no start character"])
async def test_noise_instead_of_an_identification(alphabet: bytes | None) -> None:
    async with peer(_noise(alphabet)) as url:
        error, took, largest = await failed_read(url)
    assert isinstance(error, DamagedAnswers)
    assert "bytes came" in str(error)
    assert said_seconds(error) <= took + 0.05  # the message says how long it really took
    assert_not_a_wiring_hint(error)
    assert largest <= MAX_IDENTIFICATION_BYTES
    assert took < 2


# --- a scripted meter: answers by request kind -------------------------------------------
#: (kind, how many of that kind came before) -> bytes to send back (parity added if asked).
Answer = Callable[[str, int], bytes]


def scripted(answer: Answer, parity: bool = False, delay: float = 0.0) -> Peer:
    """A meter that classifies each request (sign-on, option, ack, nak) and answers it."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts: dict[str, int] = {}
        while chunk := await reader.read(1024):
            request = strip_parity(chunk) if parity else chunk
            if request.startswith(b"/?"):
                kind = "sign-on"
            elif request.startswith(b"\x06") and len(request) >= 6:
                kind = "option"
            elif request == b"\x06":
                kind = "ack"
            elif request == b"\x15":
                kind = "nak"
            else:
                kind = "other"
            count = counts.get(kind, 0)
            counts[kind] = count + 1
            reply = answer(kind, count)
            if delay:
                await asyncio.sleep(delay)
            writer.write(add_even_parity(reply) if parity else reply)
            await writer.drain()

    return handler


def with_bcc(payload: bytes) -> bytes:
    """``STX payload`` and its BCC (``payload`` ends with ETX or EOT)."""
    return b"\x02" + payload + bytes((bcc(payload),))


GOOD_DATA = data_message(DATA_LINES)


def meter_answering(identifications: list[bytes], blocks: list[bytes]) -> Answer:
    """The n-th sign-on gets the n-th identification (the last one after that); the
    option select the first block, each NAK the next one."""

    def answer(kind: str, count: int) -> bytes:
        if kind == "sign-on":
            return identifications[min(count, len(identifications) - 1)]
        if kind == "option":
            return blocks[0]
        if kind == "nak":
            return blocks[min(count + 1, len(blocks) - 1)]
        return b""

    return answer


@pytest.mark.parametrize(
    "identification",
    [
        b"/ABC7SIM\r\n",  # reserved speed character
        b"/ABCuSIM\r\n",  # no speed character at all
        b"/ABCESIM\r\n",  # a mode B speed read in mode C
        b"/ABC5SI!M\r\n",  # "!" cannot be in an ident
        b"/A\xc2C5SIM\r\n",  # a byte with bit 7 set
        b"/ABC5\\\r\n",  # the enhanced mark without its character
    ],
    ids=["reserved Z", "bad Z", "mode B Z", "bang", "bit 7", "lone mark"],
)
async def test_a_damaged_identification_is_refused_and_read_again(
    identification: bytes,
) -> None:
    sign_ons: list[int] = []

    def answer(kind: str, count: int) -> bytes:
        if kind == "sign-on":
            sign_ons.append(count)
        return meter_answering([identification, IDENT], [GOOD_DATA])(kind, count)

    async with peer(scripted(answer)) as url:
        async with reader_for(url, timing=TWICE) as client:
            async with asyncio.timeout(BOUND_S):
                reading = await client.read_values()
    assert sign_ons == [0, 1]  # read again after the bad one
    assert reading.values["active_energy_import"] == 1234.5
    assert client.last_readout is not None
    assert client.last_readout.identification.ident == "SIM"


#: A block whose 7-bit BCC is right although its content is damaged.
DAMAGED_BLOCKS = {
    "no end line": with_bcc(b"1.8.0(0001234.5*kWh)\r\n\x03"),
    "no data set": with_bcc(b"!\r\n\x03"),
    "random text": with_bcc(b"q#Zx&)(k\x03"),
    "bit 7 in a unit": with_bcc(
        b"C.1.0(87654321)\r\n1.8.0(0001234.5*kWh)\r\n2.7.0(0000500.0*\xd7)\r\n!\r\n\x03"
    ),
    "control character": with_bcc(
        b"C.1.0(87654321)\r\n1.8.0(0001\x1a34.5*kWh)\r\n2.7.0(0000500.0*W)\r\n!\r\n\x03"
    ),
}


@pytest.mark.parametrize("damaged", DAMAGED_BLOCKS.values(), ids=DAMAGED_BLOCKS.keys())
async def test_a_block_that_passes_the_bcc_but_is_no_readout_is_asked_again(
    damaged: bytes,
) -> None:
    async with peer(scripted(meter_answering([IDENT], [damaged, GOOD_DATA]))) as url:
        async with reader_for(url, timing=TWICE) as client:
            async with asyncio.timeout(BOUND_S):
                reading = await client.read_values()
    assert client.naks_sent == 1
    assert {key: reading.values[key] for key in TRUE_VALUES} == TRUE_VALUES
    assert client.skipped_lines == 0


async def test_a_block_that_is_never_a_readout_is_a_damaged_answer() -> None:
    empty = DAMAGED_BLOCKS["no data set"]
    async with peer(scripted(meter_answering([IDENT], [empty]))) as url:
        error, took, _ = await failed_read(url, timing=TWICE)
    assert isinstance(error, DamagedAnswers)
    assert "no data set" in str(error)
    assert took < BOUND_S


def _flip(block: bytes, *hits: tuple[int, int]) -> bytes:
    """``block`` as an 8N1 port sees it, with (index, bit) hits after the parity was set."""
    raw = bytearray(add_even_parity(block))
    for index, bit in hits:
        raw[index] ^= 1 << bit
    return bytes(raw)


EIGHT_BIT_HITS = {
    # Two hits in the same bit of two digits: the BCC cancels them, parity does not.
    "two hits in bit 0": _flip(
        GOOD_DATA,
        (GOOD_DATA.index(b"1234.5"), 0),
        (GOOD_DATA.index(b"1234.5") + 2, 0),
    ),
    # Only the parity bit of "W": the data bits are right, the byte is still damaged.
    "parity bit of a unit": _flip(GOOD_DATA, (GOOD_DATA.index(b"W)"), 7)),
}


@pytest.mark.parametrize("damaged", EIGHT_BIT_HITS.values(), ids=EIGHT_BIT_HITS.keys())
async def test_parity_errors_on_an_eight_bit_link_are_damaged_blocks(damaged: bytes) -> None:
    # Parity added to every answer; the damaged block has its own (and its hits) already.
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(1024):
            request = strip_parity(chunk)
            if request.startswith(b"/?"):
                writer.write(add_even_parity(IDENT))
            elif request.startswith(b"\x06") and len(request) >= 6:
                writer.write(damaged)
            elif request == b"\x15":
                writer.write(add_even_parity(GOOD_DATA))
            await writer.drain()

    async with peer(handler) as url:
        async with reader_for(url, timing=TWICE, eight_bits=True, strip_parity=True) as client:
            async with asyncio.timeout(BOUND_S):
                reading = await client.read_values()
    assert client.naks_sent == 1
    assert {key: reading.values[key] for key in TRUE_VALUES} == TRUE_VALUES
    assert client.parity_errors >= 1


async def _dripping_identification(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.read(64)
    for byte in IDENT:  # slower than the inter-character timeout
        writer.write(bytes((byte,)))
        await writer.drain()
        await asyncio.sleep(0.5)
    await _until_closed(reader)


async def test_an_identification_slower_than_the_timeout_says_so() -> None:
    async with peer(_dripping_identification) as url:
        error, took, _ = await failed_read(url)
    assert isinstance(error, NoResponse)
    assert "incomplete" in str(error)
    assert "bytes came" in str(error) or "byte came" in str(error)
    assert "request timeout" in error.hint
    assert_not_a_wiring_hint(error)
    assert took < BOUND_S


async def test_answers_after_the_timeout_say_that_bytes_came() -> None:
    # Each identification comes 0.8 s after its sign-on, after the 0.3 s timeout; the
    # next try (after the 1.2 s pause) finds it and drops it as stale.
    answer = meter_answering([IDENT], [GOOD_DATA])
    async with peer(scripted(answer, delay=0.8)) as url:
        error, took, _ = await failed_read(url, timing=TWICE, poll_delay_ms=1200)
    assert isinstance(error, NoResponse)
    assert "2 tries" in str(error)
    assert f"{len(IDENT)} bytes came" in str(error)
    assert "request timeout" in error.hint
    assert_not_a_wiring_hint(error)
    assert took < BOUND_S


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(1024):
        writer.write(chunk)
        await writer.drain()


async def test_an_echo_and_nothing_else_hints_the_echo_setting() -> None:
    async with peer(_echo) as url:
        error, took, _ = await failed_read(url)
    assert isinstance(error, NoResponse)
    assert "echo" in str(error)
    assert "echo setting" in error.hint
    assert "wiring" not in error.hint
    assert took < 2


async def test_an_echo_with_the_echo_setting_on_is_a_silent_meter() -> None:
    async with peer(_echo) as url:
        error, took, _ = await failed_read(url, echo=True)
    assert isinstance(error, NoResponse)
    assert "echo setting" not in error.hint
    assert "echo" in str(error)  # the message still says that only the echo came
    assert took < 2


# --- the size caps hold however the bytes arrive ------------------------------------------
#: A valid readout of about 2,000 bytes, over the 256-byte cap the tests below set.
LONG_LINES = (*DATA_LINES, *(f"1.8.0*{month}(0{month:02}345.678*kWh)" for month in range(90)))
CAP = 256


def _one_write(blocks: list[bytes]) -> Peer:
    """A meter that sends each block (all at once) after the option select and each ACK."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent = 0
        while chunk := await reader.read(1024):
            if chunk.startswith(b"/?"):
                writer.write(IDENT)
            elif chunk.startswith(b"\x06") and sent < len(blocks):
                writer.write(blocks[sent])  # the whole block in one write
                sent += 1
            await writer.drain()

    return handler


async def test_a_whole_readout_over_the_cap_in_one_write_is_refused() -> None:
    block = data_message(LONG_LINES)
    assert len(block) > 5 * CAP
    async with peer(_one_write([block])) as url:
        error, took, _ = await failed_read(url, max_readout_bytes=CAP)
    assert isinstance(error, ReadoutTooLarge)
    assert f"readout larger than {CAP} bytes" in str(error)
    assert f"a block of {len(block)} bytes came whole" in str(error)
    assert "(the readout size limit)" in str(error)  # the CLI names its option for it
    assert "readout size limit" in error.hint
    assert took < BOUND_S


async def test_partial_blocks_over_the_cap_in_one_write_each_are_refused() -> None:
    # Two partial blocks of about 200 bytes each: each under the cap, not both together.
    first = data_message(LONG_LINES[:8], final=False)
    second = data_message(LONG_LINES[8:16])
    assert len(first) < CAP < len(first) + len(second)
    async with peer(_one_write([first, second])) as url:
        async with reader_for(url, max_readout_bytes=CAP) as client:
            with pytest.raises(ReadoutTooLarge) as caught:
                async with asyncio.timeout(BOUND_S):
                    await client.read_values()
    assert f"readout larger than {CAP} bytes" in str(caught.value)
    assert f"after {len(first)} bytes of blocks before it" in str(caught.value)
    assert not client._buffer  # nothing of the refused message is kept
    assert client.naks_sent == 0  # not asked again: the meter would send the same


async def test_a_readout_of_exactly_the_cap_is_read_one_byte_more_is_not() -> None:
    block = data_message(LONG_LINES[:20])
    assert len(block) > CAP
    async with peer(_one_write([block])) as url:
        async with reader_for(url, max_readout_bytes=len(block)) as client:
            async with asyncio.timeout(BOUND_S):
                reading = await client.read_values()
        error, _, _ = await failed_read(url, max_readout_bytes=len(block) - 1)
    assert reading.values["active_energy_import"] == 1234.5
    assert isinstance(error, ReadoutTooLarge)
    assert f"readout larger than {len(block) - 1} bytes" in str(error)


@pytest.mark.parametrize("end", [b"\r\n", b""], ids=["with its end", "without its end"])
async def test_an_identification_over_its_size_in_one_write_is_refused(end: bytes) -> None:
    line = b"/ABC5" + b"X" * (4 * MAX_IDENTIFICATION_BYTES) + end

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(64)
        writer.write(line)
        await writer.drain()
        await _until_closed(reader)

    async with peer(handler) as url:
        async with reader_for(url) as client:
            with pytest.raises(DamagedAnswers) as caught:
                async with asyncio.timeout(BOUND_S):
                    await client.read_values()
    assert f"identification line longer than {MAX_IDENTIFICATION_BYTES} bytes" in str(caught.value)
    assert not client._buffer  # the buffer never keeps more than one line's size
