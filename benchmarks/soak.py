"""Soak the IEC 102 session against the simulator with about 1 % faults of every kind.

Every fault the simulator can inject (damaged checksum, damaged length byte, silence,
line noise before an answer, a dropped connection) hits about one answer in a hundred.
A poll that fails is retried once on a fresh session (and a fresh connection, if it was
lost); a poll that still fails is "unrecovered". Reports successes, failures by type,
latency, descriptors and tasks before and after, and RSS growth.

Goal: every fault recovered, no leaks, growth < 1 MB per 10,000 polls.

Run: ``.venv/bin/python benchmarks/soak.py [--polls 10000]``
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
import os
from pathlib import Path
import statistics
import sys
import time
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.iec_meter.core.errors import ConnectionLost, MeterError  # noqa: E402
from custom_components.iec_meter.core.iec102.asdu import (  # noqa: E402
    decode_instant_values,
    instantaneous_request,
)
from custom_components.iec_meter.core.iec102.constants import TypeId  # noqa: E402
from custom_components.iec_meter.core.iec102.session import Iec102Session  # noqa: E402
from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: E402
from custom_components.iec_meter.core.iec102.timecodec import now_in  # noqa: E402
from custom_components.iec_meter.core.timing import Timing  # noqa: E402
from custom_components.iec_meter.core.transport import LineSettings, Transport  # noqa: E402
from simulator.iec102_meter import MeterConfig, SimulatedMeter  # noqa: E402
from simulator.line import Faults, LineOptions, MeterLine  # noqa: E402

TZ = ZoneInfo("Europe/Madrid")
TIMING = Timing(request_timeout_ms=100, retries=3, content_timeout_ms=2000)
_PAGE = os.sysconf("SC_PAGE_SIZE")


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
            f"polls {self.polls}: {self.successes} successes, {self.unrecovered} unrecovered\n"
            f"failures seen (then recovered by a new session): {failures}\n"
            f"link retransmissions {self.retransmissions}; connections dropped "
            f"{self.faults_injected}\n"
            f"latency p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {lat[-1] * 1000:.1f} ms\n"
            f"fds before {self.fds_before}, after {self.fds_after}; tasks left "
            f"{self.tasks_left}; RSS growth {self.rss_growth / 1024:.0f} KiB"
        )

    @property
    def ok(self) -> bool:
        """The goal: all recovered, nothing leaked."""
        return (
            self.unrecovered == 0
            and self.fds_after <= self.fds_before
            and self.tasks_left == 0
            and self.rss_growth < max(self.polls * 100, _RSS_NOISE)  # < 1 MB / 10,000 polls
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(soak(args.polls, seed=args.seed))
    print(result.report())
    print(f"{time.perf_counter() - started:.1f} s; {'ok' if result.ok else 'GOAL MISSED'}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
