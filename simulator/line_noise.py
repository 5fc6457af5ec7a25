"""A noisy line for tests and benchmarks: a TCP hop that flips bits, and the truth check.

A bridge sits between a client and a simulator and flips random bits of what passes
(seeded, one generator a direction, so a retransmission on one side does not shift the
other side's flips). Two kinds of noise: one random bit of ``bits`` in a share of the
bytes (the soak's "line noise P"), or each bit of ``bits`` with its own chance (a bit
error rate). :func:`wrong_values` says which values of a reading no sample of the meter
had: what line noise turned into a wrong value.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass
import random
from typing import Final

from custom_components.iec_meter.core.model import SIGNALS, Reading, Value

ALL_BITS: Final = tuple(range(8))
#: Bounds every wait of the bridge (connecting upstream, closing).
BRIDGE_TIMEOUT_S: Final = 5.0
_READ_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Noise:
    """What the line does to each byte passing one way."""

    #: Chance that a byte gets one of ``bits`` flipped (or, ``each_bit``, every bit).
    share: float
    bits: tuple[int, ...] = ALL_BITS
    #: Each of ``bits`` flips with chance ``share`` (a bit error rate), not one a byte.
    each_bit: bool = False


@dataclass
class Direction:
    """One way through the bridge: its noise, its generator, what it did."""

    noise: Noise | None
    rng: random.Random
    bytes_passed: int = 0
    flips: int = 0

    def damage(self, data: bytes) -> bytes:
        """``data`` as the noisy line delivers it."""
        self.bytes_passed += len(data)
        noise = self.noise
        if noise is None or noise.share <= 0:
            return data
        out = bytearray(data)
        rng = self.rng
        for index in range(len(out)):
            if noise.each_bit:
                for bit in noise.bits:
                    if rng.random() < noise.share:
                        out[index] ^= 1 << bit
                        self.flips += 1
            elif rng.random() < noise.share:
                out[index] ^= 1 << rng.choice(noise.bits)
                self.flips += 1
        return bytes(out)


class BitFlipBridge:
    """A TCP hop that damages what the meter sends (and, if asked, what it is sent)."""

    def __init__(self, upstream: str, down: Noise, seed: int, up: Noise | None = None) -> None:
        """Forward to ``upstream`` (a ``socket://`` URL); nothing is served yet."""
        host, port = upstream.removeprefix("socket://").rsplit(":", 1)
        self._upstream = (host, int(port))
        #: From the meter to the client, and from the client to the meter.
        self.down = Direction(down, random.Random(seed))
        self.up = Direction(up, random.Random(seed + 1))
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def flips(self) -> int:
        """Bits flipped either way."""
        return self.down.flips + self.up.flips

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Listen on 127.0.0.1 for the duration of the block; yields the client's URL."""
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

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with asyncio.timeout(BRIDGE_TIMEOUT_S):
                up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            # Either side ending ends the hop, as a converter drops both sides.
            pumps = [
                asyncio.create_task(self._pump(reader, up_writer, self.up)),
                asyncio.create_task(self._pump(up_reader, writer, self.down)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
                up_writer.close()
        except (OSError, TimeoutError):
            pass  # the meter's side is gone: the client's goes with it
        finally:
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: Direction
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(_READ_SIZE):
                writer.write(direction.damage(data))
                await writer.drain()
        writer.close()


def wrong_values(reading: Reading, samples: Sequence[Mapping[str, Value]]) -> list[str]:
    """The values of ``reading`` that none of the meter's ``samples`` had, described."""
    wrong = []
    for key, value in reading.values.items():
        if value is None or key not in SIGNALS:
            continue
        if all(sample.get(key) != value for sample in samples):
            truth = sorted({str(sample.get(key)) for sample in samples})
            wrong.append(f"{key} {value} (meter: {', '.join(truth)})")
    return wrong
