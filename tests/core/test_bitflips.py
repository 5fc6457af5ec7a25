"""A line that flips bits: every reading the client returns is the meter's, or the read fails.

The 8-bit checksum of FT1.2 misses two hits in one frame that cancel (the same bit
flipped both ways, or bit 7 twice). A small TCP bridge between the client and the
simulator flips one random bit in a share of the bytes, both ways, with a fixed seed;
the client polls a bounded number of times, and each reading must equal what the
simulator last sent (its clock stands still, its values move) or the read must end in
a :class:`MeterError`. What the frame's structure cannot show (two cancelling hits in
the value bits of one register) still gets through: the count is bounded here and
left to the plausibility guard of the integration. Over 2,000 polls (eight other
seeds) 41 readings (71 values) were wrong without the structural checks, 23 (47) with
them; none was ever an older answer taken for a new one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
import random

from custom_components.iec_meter.core.errors import MeterError
from custom_components.iec_meter.core.iec102.asdu import InstantValues
from custom_components.iec_meter.core.iec102.signals import instant_signals
from custom_components.iec_meter.core.model import Reading
from custom_components.iec_meter.core.timing import Timing
from simulator.iec102_meter import MeterConfig, SimulatedMeter
from simulator.line import LineOptions, MeterLine
from simulator.meter_model import MeterModel
from tests.conftest import MADRID, client_for, serving

#: Share of the bytes that get one bit flipped, each way.
FLIP_SHARE = 1e-2
#: One line per seed, all polled at once (the waits overlap, the test stays short).
SEEDS = (13, 14, 15, 16)
POLLS = 50
#: Quick tries: a damaged answer is asked again at once, silence after 0.1 s.
TIMING = Timing(request_timeout_ms=100, retries=3, content_timeout_ms=300)
STOPPED_CLOCK = datetime(2026, 3, 10, 12, 34, tzinfo=MADRID)
#: Wrong readings at these seeds: two hits that cancel inside value bits, which no
#: structure shows (test_answer_checks.py counts them). Measured: 4 (8 values) of the
#: 200 polls; 5 (9 values) without the structural checks.
ALLOWED_WRONG_READINGS = 4
BRIDGE_TIMEOUT_S = 5.0


@dataclass
class RecordingModel(MeterModel):
    """The simulator's model, keeping every sample it answers with: the truth of a read."""

    samples: list[InstantValues] = field(default_factory=list)

    def sample(self, when: datetime) -> InstantValues:
        """A new sample (the load and voltages move), remembered."""
        values = super().sample(when)
        self.samples.append(values)
        return values


@dataclass
class FlipCounts:
    """What the bridge did."""

    bytes_passed: int = 0
    flips: int = 0


class BitFlipBridge:
    """A TCP hop that flips one random bit in a share of the bytes passing either way."""

    def __init__(self, upstream: str, share: float, seed: int) -> None:
        """Forward to ``upstream`` (a ``socket://`` URL of the simulator)."""
        host, port = upstream.removeprefix("socket://").rsplit(":", 1)
        self._upstream = (host, int(port))
        self._share = share
        # One generator per direction, so a retransmission on one side does not shift
        # the other side's flips.
        self._random = {"up": random.Random(seed), "down": random.Random(seed + 1)}
        self.counts = FlipCounts()
        self._tasks: set[asyncio.Task[None]] = set()

    def _damage(self, data: bytes, direction: str) -> bytes:
        rng = self._random[direction]
        out = bytearray(data)
        for index in range(len(out)):
            if rng.random() < self._share:
                out[index] ^= 1 << rng.randrange(8)
                self.counts.flips += 1
        self.counts.bytes_passed += len(out)
        return bytes(out)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                writer.write(self._damage(data, direction))
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with asyncio.timeout(BRIDGE_TIMEOUT_S):
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            # Either side ending ends the hop, as a converter drops both sides.
            pumps = [
                asyncio.create_task(self._pump(reader, up_writer, "up")),
                asyncio.create_task(self._pump(up_reader, writer, "down")),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                up_writer.close()
        finally:
            writer.close()
            self._tasks.discard(task)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Listen on 127.0.0.1 for the duration of the block; yields the URL."""
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        try:
            yield f"socket://{host}:{port}"
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            async with asyncio.timeout(BRIDGE_TIMEOUT_S):
                await server.wait_closed()


@dataclass
class Tally:
    """How the polls ended."""

    right: int = 0
    failed: int = 0
    #: Readings with at least one value the meter did not send, and how many values.
    wrong_readings: int = 0
    wrong_values: int = 0
    #: Readings equal to an older answer of the meter (a repeat taken for a new answer).
    stale: int = 0


def _truth(values: InstantValues) -> Reading:
    return Reading(instant_signals(values), STOPPED_CLOCK)


def _differences(reading: Reading, truth: Reading) -> int:
    keys = set(reading.values) | set(truth.values)
    wrong = sum(1 for key in keys if reading.values.get(key, "absent") != truth.values.get(key))
    return wrong + (reading.timestamp != truth.timestamp)


def tally_reading(reading: Reading, samples: list[InstantValues], tally: Tally) -> int:
    """Count ``reading`` against the meter's latest sample; returns its wrong values."""
    wrong = _differences(reading, _truth(samples[-1]))
    if not wrong:
        tally.right += 1
    elif any(not _differences(reading, _truth(older)) for older in samples[:-1]):
        tally.stale += 1
    else:
        tally.wrong_readings += 1
        tally.wrong_values += wrong
    return wrong


async def poll_through_flips(polls: int, share: float, seed: int) -> tuple[Tally, FlipCounts]:
    """Poll a simulated meter through a bit-flipping bridge; count the outcomes."""
    model = RecordingModel()
    meter = SimulatedMeter(MeterConfig(), MADRID, lambda: STOPPED_CLOCK, model=model)
    line = MeterLine([meter], LineOptions())
    tally = Tally()
    async with serving(line) as url:
        bridge = BitFlipBridge(url, share, seed)
        async with bridge.serving() as flipped, client_for(flipped, timing=TIMING) as client:
            for _ in range(polls):
                try:
                    reading = await client.read_values()
                except MeterError:
                    tally.failed += 1
                    continue
                tally_reading(reading, model.samples, tally)
    return tally, bridge.counts


async def test_flipped_bits_never_become_readings() -> None:
    async with asyncio.timeout(300):
        results = await asyncio.gather(
            *(poll_through_flips(POLLS, FLIP_SHARE, seed) for seed in SEEDS)
        )
    tally = Tally(*(sum(getattr(t, name) for t, _ in results) for name in vars(Tally())))
    flips = sum(counts.flips for _, counts in results)
    print(f"bit flips: {flips}, {tally}")  # the figure the report quotes (pytest -s)
    assert flips > 0
    polls = POLLS * len(SEEDS)
    assert tally.right + tally.failed + tally.wrong_readings + tally.stale == polls
    assert tally.stale == 0
    assert tally.right > polls * 0.8  # the line still works
    assert tally.wrong_readings <= ALLOWED_WRONG_READINGS, tally
