"""Bit errors on the line never become wrong values: the noisy line of
:mod:`simulator.line_noise` flips random bits of the meter's answers (a fixed seed), and
every read either fails or returns exactly what the meter holds."""

from __future__ import annotations

import asyncio
from datetime import datetime
import os
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import MeterError
from custom_components.iec_meter.core.iec62056 import Iec62056Client, Iec62056Settings
from custom_components.iec_meter.core.model import Reading
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from simulator.iec62056_line import Iec62056Line, Iec62056LineOptions
from simulator.iec62056_meter import Iec62056MeterConfig, SimulatedIec62056Meter
from simulator.line_noise import ALL_BITS, BitFlipBridge, Noise
from simulator.meter_model import MeterModel

TZ = ZoneInfo("Europe/Madrid")
TIMING = Timing(request_timeout_ms=300, retries=2, reconnect_delay_ms=1000)
SPEED = 2400
POLLS = 30
#: Probability that one bit of the meter's answers is flipped: about two hits a readout.
BIT_ERROR_RATE = 2e-4
SEED = 62056


def simulated_line(parity_bit7: bool) -> Iec62056Line:
    """A mode C meter whose readout is fixed (its live lines at one moment)."""
    when = datetime(2024, 6, 1, 13, 0, tzinfo=TZ)
    live = SimulatedIec62056Meter(Iec62056MeterConfig(), TZ, lambda: when, MeterModel(seed=5))
    config = Iec62056MeterConfig(baudrate=9600, data_lines=tuple(live.lines()))
    meter = SimulatedIec62056Meter(config, TZ, lambda: when, MeterModel(seed=5))
    options = Iec62056LineOptions(pace=False, initial_baudrate=SPEED, parity_bit7=parity_bit7)
    return Iec62056Line([meter], options)


async def read(url: str, eight_bits: bool) -> tuple[Reading | None, Iec62056Client]:
    framing = {"bytesize": 8, "parity": "N"} if eight_bits else {"bytesize": 7, "parity": "E"}
    async with Bus(LineSettings(url, baudrate=SPEED, connect_timeout=2, **framing), TIMING) as bus:
        settings = Iec62056Settings(
            initial_baudrate=SPEED, t2_ms=200, poll_delay_ms=0, strip_parity=eight_bits
        )
        client = Iec62056Client(bus, settings, TZ)
        try:
            async with asyncio.timeout(30):
                return await client.read_values(), client
        except MeterError:
            return None, client


@pytest.mark.parametrize(
    ("eight_bits", "bits"),
    [(True, ALL_BITS), (False, (7,))],
    ids=["7E1 behind an 8N1 converter, any bit", "7-bit link, bit 7"],
)
async def test_bit_errors_never_give_a_wrong_value(eight_bits: bool, bits: tuple[int, ...]) -> None:
    fds = len(os.listdir("/proc/self/fd"))
    tasks = len(asyncio.all_tasks())
    line = simulated_line(parity_bit7=eight_bits)
    url = await line.start_tcp()
    try:
        truth, _ = await read(url, eight_bits)  # a clean link first
        assert truth is not None
        assert len(truth.data) > 30
        # On the 7-bit link only bit 7 flips, at the rate all eight bits flip together.
        noise = Noise(BIT_ERROR_RATE * (8 if len(bits) == 1 else 1), bits, each_bit=True)
        bridge = BitFlipBridge(url, noise, SEED)
        good = wrong = failed = 0
        naks = 0
        async with bridge.serving() as damaged_url:
            for _ in range(POLLS):
                reading, client = await read(damaged_url, eight_bits)
                naks += client.naks_sent
                if reading is None:
                    failed += 1
                elif reading.values == truth.values and reading.data == truth.data:
                    good += 1
                else:
                    wrong += 1
    finally:
        await line.stop()
    assert wrong == 0, f"{wrong} wrong readings of {POLLS} ({bridge.flips} bits flipped)"
    # The test means something: bits were flipped, blocks asked again, most reads good.
    assert bridge.flips >= POLLS
    assert naks > 0
    assert good >= POLLS // 3
    assert good + failed == POLLS
    assert len(os.listdir("/proc/self/fd")) <= fds
    assert len(asyncio.all_tasks()) <= tasks
