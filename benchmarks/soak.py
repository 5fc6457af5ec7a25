"""Soak the IEC 102 session against the simulator with about 1 % faults of every kind.

Every fault the simulator can inject (damaged checksum, damaged length byte, silence,
line noise before an answer, a dropped connection) hits about one answer in a hundred.
A poll that fails is retried once on a fresh session (and a fresh connection, if it was
lost); a poll that still fails is "unrecovered". Reports successes, failures by type,
latency, descriptors and tasks before and after, and RSS growth.

Goal: every fault recovered, no leaks, growth < 1 MB per 10,000 polls.

Line-noise mode (``--line-noise P``): the noisy line of :mod:`simulator.line_noise`
between the client and the simulator flips one random bit in a share P of the bytes the
meter sends (seeded, so a run repeats). Most damaged answers fail their checksum and are
asked again; two flips can cancel out in a checksum, and then a wrong number arrives
looking right. The real client reads through the plausibility guard, and every value it
hands on is compared with what the simulated meter sampled for that poll (or the poll
before, for a late answer). ``--protocol iec102`` (the default) reads an IEC 102 meter
(an 8-bit sum guards each frame); ``--protocol iec62056`` an IEC 62056-21 meter behind a
TCP converter at 7E1, which keeps the parity bit to itself: only the 7 data bits reach
the client, flips among them, and a block's XOR (BCC) is their only check.

Goal there: wrong values accepted 0 (every value published is one the meter sent). The
report splits registers (the Energy statistics) from measurements. A wrong value within
the noise of the measurement itself (two hits of 0.2 V in two voltages) cannot be told
from a true one by any rule, only by the line's own checks.

Run: ``.venv/bin/python benchmarks/soak.py [--polls 10000] [--line-noise 0.001]
[--protocol iec62056] [--examples N]``
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
import contextlib
from dataclasses import dataclass, field, replace
from datetime import datetime
import os
from pathlib import Path
import statistics
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.iec_meter.core.bus import Bus  # noqa: E402
from custom_components.iec_meter.core.driver import MeterClient  # noqa: E402
from custom_components.iec_meter.core.errors import ConnectionLost, MeterError  # noqa: E402
from custom_components.iec_meter.core.iec102.asdu import (  # noqa: E402
    InstantValues,
    decode_instant_values,
    instantaneous_request,
)
from custom_components.iec_meter.core.iec102.client import Iec102Client  # noqa: E402
from custom_components.iec_meter.core.iec102.constants import TypeId  # noqa: E402
from custom_components.iec_meter.core.iec102.session import Iec102Session  # noqa: E402
from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: E402
from custom_components.iec_meter.core.iec102.signals import instant_signals  # noqa: E402
from custom_components.iec_meter.core.iec102.timecodec import now_in  # noqa: E402
from custom_components.iec_meter.core.iec62056 import (  # noqa: E402
    Iec62056Client,
    Iec62056Settings,
)
from custom_components.iec_meter.core.iec62056.datasets import parse_data_block  # noqa: E402
from custom_components.iec_meter.core.iec62056.messages import (  # noqa: E402
    data_message,
    decode_block,
)
from custom_components.iec_meter.core.iec62056.obis import signals  # noqa: E402
from custom_components.iec_meter.core.model import SIGNALS, Reading, Value  # noqa: E402
from custom_components.iec_meter.core.plausibility import (  # noqa: E402
    PlausibilityGuard,
    Screening,
)
from custom_components.iec_meter.core.timing import Timing  # noqa: E402
from custom_components.iec_meter.core.transport import LineSettings, Transport  # noqa: E402
from simulator.iec102_meter import MeterConfig, SimulatedMeter  # noqa: E402
from simulator.iec62056_line import Iec62056Line, Iec62056LineOptions  # noqa: E402
from simulator.iec62056_meter import Iec62056MeterConfig, SimulatedIec62056Meter  # noqa: E402
from simulator.line import Faults, LineOptions, MeterLine  # noqa: E402
from simulator.line_noise import BitFlipBridge, Noise, wrong_values  # noqa: E402

TZ = ZoneInfo("Europe/Madrid")
TIMING = Timing(request_timeout_ms=100, retries=3, content_timeout_ms=2000)
_PAGE = os.sysconf("SC_PAGE_SIZE")
IEC102 = "iec102"
IEC62056 = "iec62056"
#: The IEC 62056-21 meter behind a TCP converter at 7E1: the converter keeps the parity
#: bit, so only the 7 data bits reach the client and only the block's BCC checks them.
SPEED = 9600
SEVEN_BITS = tuple(range(7))
#: Partial blocks of a few lines each: at 1 % noise a whole readout in one block is
#: hardly ever undamaged, a block of five lines often is.
IEC62056_METER = Iec62056MeterConfig(block_lines=5)
IEC62056_SETTINGS = Iec62056Settings(initial_baudrate=SPEED, t2_ms=200, poll_delay_ms=0)


@dataclass
class SoakResult:
    """What one soak run measured."""

    polls: int
    successes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    unrecovered: int = 0
    latencies: list[float] = field(default_factory=list)
    fds_before: int = 0
    fds_after: int = 0
    tasks_left: int = 0
    rss_growth: int = 0
    retransmissions: int = 0
    faults_injected: int = 0

    def report(self) -> str:
        """Human-readable summary."""
        lat = sorted(self.latencies) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        failures = ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items())) or "none"
        return (
            f"polls {self.polls}: {self.successes} successes, {self.unrecovered} unrecovered "
            f"(goal 0)\n"
            f"failures seen (then recovered by a new session): {failures}\n"
            f"link retransmissions {self.retransmissions}; connections dropped "
            f"{self.faults_injected}\n"
            f"latency p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {lat[-1] * 1000:.1f} ms\n"
            f"fds before {self.fds_before}, after {self.fds_after} (limit {self.fds_before}); "
            f"tasks left {self.tasks_left} (goal 0); RSS growth "
            f"{self.rss_growth / 1024:.0f} KiB (limit {self.rss_limit / 1024:.0f} KiB)"
        )

    @property
    def rss_limit(self) -> int:
        """1 MB per 10,000 polls, or the allocator's noise for a short run."""
        return max(self.polls * 100, _RSS_NOISE)

    @property
    def ok(self) -> bool:
        """The goal: all recovered, nothing leaked."""
        return (
            self.unrecovered == 0
            and self.fds_after <= self.fds_before
            and self.tasks_left == 0
            and self.rss_growth < self.rss_limit
        )


#: RSS moves by whole pages and allocator arenas: a short run is judged against this.
_RSS_NOISE = 256 * 1024


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def one_in_hundred() -> Faults:
    """About 1 % of every fault kind (drops: one connection every 300 frames)."""
    return Faults(
        drop_after=300,
        corrupt_every=97,
        silent_every=101,
        garbage_every=103,
        header_noise_every=89,
    )


async def soak(polls: int, faults: Faults | None = None, seed: int = 1) -> SoakResult:
    """Run ``polls`` instantaneous reads against an in-process simulator."""
    result = SoakResult(polls, fds_before=_fds())
    line = MeterLine(
        [SimulatedMeter(MeterConfig(), TZ, lambda: now_in(TZ))],
        LineOptions(faults=faults or one_in_hundred(), seed=seed),
    )
    url = await line.start_tcp()
    transport = Transport(LineSettings(url, connect_timeout=2.0))
    session = Iec102Session(transport, Iec102Settings(1, 1, 1), TIMING)
    await asyncio.sleep(0)
    rss_before = 0
    loop = asyncio.get_running_loop()
    try:
        for index in range(polls):
            if index == min(100, polls // 2):
                rss_before = _rss()  # after warm-up: caches and the first buffers
            started = loop.time()
            for attempt in range(2):
                try:
                    if not transport.is_open:
                        await transport.open()
                        session.logged_in = False
                    if not session.logged_in:
                        await session.start()
                    answer = await session.request(instantaneous_request(1), TypeId.R_IN_VA_2)
                    decode_instant_values(answer, TZ)
                except MeterError as err:
                    result.failures[type(err).__name__] += 1
                    session.logged_in = False
                    if isinstance(err, ConnectionLost):
                        await transport.close()
                    if attempt:
                        result.unrecovered += 1
                    continue
                result.successes += 1
                break
            result.latencies.append(loop.time() - started)
        result.rss_growth = max(_rss() - rss_before, 0)
        await session.finish()
    finally:
        await transport.close()
        await line.stop()
    result.retransmissions = session.link.retransmissions
    result.faults_injected = line.connections - 1
    await asyncio.sleep(0)
    result.tasks_left = len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])
    result.fds_after = _fds()
    return result


class _WatchedGuard(PlausibilityGuard):
    """The guard, keeping every read it judged (to count wrong values before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.judged: list[Reading] = []

    def examine(self, reading: Reading) -> Screening:
        self.judged.append(reading)
        return super().examine(reading)

    def conclude(self, screening: Screening, again: Reading | None) -> Reading:
        if again is not None:
            self.judged.append(again)
        return super().conclude(screening, again)


@dataclass
class NoiseResult:
    """What a line-noise run measured."""

    polls: int
    share: float
    protocol: str = IEC102
    successes: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    bytes_from_meter: int = 0
    bits_flipped: int = 0
    values_published: int = 0
    #: Values in reads the guard judged that differ from every sample of the meter.
    wrong_before_guard: int = 0
    wrong_accepted: int = 0
    #: Of those, energy registers (what the Energy statistics are made of).
    wrong_registers_accepted: int = 0
    wrong_examples: list[str] = field(default_factory=list)
    rejections: int = 0
    withheld: int = 0
    rereads: int = 0
    tasks_left: int = 0
    examples_shown: int = 5

    def report(self) -> str:
        """Human-readable summary; the last line is the figure and its goal."""
        failures = ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items())) or "none"
        shown = self.wrong_examples[: self.examples_shown]
        examples = "".join(f"\n  {example}" for example in shown)
        return (
            f"{self.protocol}, line noise {self.share:g}: {self.bits_flipped} bits flipped in "
            f"{self.bytes_from_meter} bytes from the meter\n"
            f"polls {self.polls}: {self.successes} read, failed polls: {failures}\n"
            f"wrong values that passed the checksum: {self.wrong_before_guard}; guard "
            f"rejections {self.rejections}, re-reads {self.rereads}, values left out "
            f"{self.withheld}\n"
            f"values published {self.values_published}; tasks left {self.tasks_left} "
            f"(goal 0)\n"
            f"wrong registers accepted: {self.wrong_registers_accepted} (goal 0); wrong "
            f"measurements within their bounds accepted: "
            f"{self.wrong_accepted - self.wrong_registers_accepted}\n"
            f"wrong values accepted: {self.wrong_accepted} (goal 0){examples}"
        )

    @property
    def ok(self) -> bool:
        """The goal: nothing wrong published, nothing left running."""
        return self.wrong_accepted == 0 and self.tasks_left == 0


def _tally(result: NoiseResult, reading: Reading, truth: Sequence[Mapping[str, Value]]) -> None:
    result.successes += 1
    result.values_published += sum(v is not None for v in reading.values.values())
    wrong = wrong_values(reading, truth)
    result.wrong_accepted += len(wrong)
    result.wrong_registers_accepted += sum(SIGNALS[item.split()[0]].is_register for item in wrong)
    result.wrong_examples.extend(wrong)


async def _poll_through(
    client: MeterClient[Any],
    guard: _WatchedGuard,
    samples: list[Mapping[str, Value]],
    result: NoiseResult,
) -> None:
    """``result.polls`` reads; each is checked against the samples of its poll."""
    window_start = 0
    for _ in range(result.polls):
        poll_start = len(samples)
        reading: Reading | None = None
        try:
            reading = await client.read_values()
        except MeterError as err:
            result.failures[type(err).__name__] += 1
        # The truth of a poll: what the meter sampled for it, or for the poll before
        # (an answer that came late).
        truth = samples[window_start:]
        window_start = poll_start
        for judged in guard.judged:
            result.wrong_before_guard += len(wrong_values(judged, truth))
        guard.judged.clear()
        if reading is not None:
            _tally(result, reading, truth)
    with contextlib.suppress(MeterError):
        await client.close()


def _finish(result: NoiseResult, bridge: BitFlipBridge, guard: PlausibilityGuard) -> None:
    result.bytes_from_meter = bridge.down.bytes_passed
    result.bits_flipped = bridge.down.flips
    result.rejections = sum(guard.rejections.values())
    result.withheld = sum(guard.withheld_counts.values())
    result.rereads = guard.rereads


async def noise_soak(
    polls: int, share: float, seed: int = 1, protocol: str = IEC102
) -> NoiseResult:
    """``polls`` reads by the real client, through the guard, over a bit-flipping line."""
    result = NoiseResult(polls, share, protocol)
    samples: list[Mapping[str, Value]] = []
    guard = _WatchedGuard()
    async with contextlib.AsyncExitStack() as stack:
        if protocol == IEC62056:
            url, noise = await _iec62056_meter(stack, samples), Noise(share, SEVEN_BITS)
            line = LineSettings(url, connect_timeout=2.0, baudrate=SPEED, bytesize=7, parity="E")
        else:
            url, noise = await _iec102_meter(stack, samples, seed), Noise(share)
            line = LineSettings(url, connect_timeout=2.0)
        bridge = BitFlipBridge(url, noise, seed)
        bus = Bus(replace(line, url=await stack.enter_async_context(bridge.serving())), TIMING)
        stack.push_async_callback(bus.close)
        client: MeterClient[Any]
        if protocol == IEC62056:
            client = Iec62056Client(bus, IEC62056_SETTINGS, TZ)
        else:
            client = Iec102Client(bus, Iec102Settings(1, 1, 1), TZ)
        client.guard = guard
        await _poll_through(client, guard, samples, result)
    _finish(result, bridge, guard)
    await asyncio.sleep(0)
    result.tasks_left = len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])
    return result


async def _iec102_meter(
    stack: contextlib.AsyncExitStack, samples: list[Mapping[str, Value]], seed: int
) -> str:
    """An IEC 102 simulator that records every sample it answers with; its URL."""
    meter = SimulatedMeter(MeterConfig(), TZ, lambda: now_in(TZ))
    sample = meter.model.sample

    def recorded(when: datetime) -> InstantValues:
        values = sample(when)
        samples.append(instant_signals(values))
        return values

    meter.model.sample = recorded  # type: ignore[method-assign]
    line = MeterLine([meter], LineOptions(seed=seed))
    stack.push_async_callback(line.stop)
    return await line.start_tcp()


async def _iec62056_meter(
    stack: contextlib.AsyncExitStack, samples: list[Mapping[str, Value]]
) -> str:
    """An IEC 62056-21 simulator (a 7-bit link) recording the values of every readout."""
    meter = SimulatedIec62056Meter(IEC62056_METER, TZ, lambda: datetime.now(TZ))
    lines = meter.lines

    def recorded() -> list[str]:
        sent = lines()
        text = decode_block(data_message(sent)).text
        samples.append(signals(parse_data_block(text).data_sets, TZ)[0])
        return sent

    meter.lines = recorded  # type: ignore[method-assign]
    line = Iec62056Line([meter], Iec62056LineOptions(pace=False, initial_baudrate=SPEED))
    stack.push_async_callback(line.stop)
    return await line.start_tcp()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--line-noise",
        type=float,
        default=0.0,
        metavar="P",
        help="flip one bit in this share of the meter's bytes (0 < P < 1), instead of the faults",
    )
    parser.add_argument("--protocol", choices=(IEC102, IEC62056), default=IEC102)
    parser.add_argument("--examples", type=int, default=5, help="wrong values to list")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: SoakResult | NoiseResult
    if args.line_noise:
        if not 0 < args.line_noise < 1:
            parser.error("--line-noise takes a share between 0 and 1")
        noise = noise_soak(args.polls, args.line_noise, args.seed, args.protocol)
        result = asyncio.run(noise)
        result.examples_shown = args.examples
    else:
        result = asyncio.run(soak(args.polls, seed=args.seed))
    print(result.report())
    print(f"{time.perf_counter() - started:.1f} s; {'ok' if result.ok else 'GOAL MISSED'}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
