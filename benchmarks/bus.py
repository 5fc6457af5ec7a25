"""Many meters polled the way Home Assistant polls them: on one bus, or one line each.

Every meter gets its own poller, like a DataUpdateCoordinator: a task that reads the
meter's values (and its clock every 5 minutes, as the coordinator does), then sleeps
until its next due time, *last start + scan interval* (``--schedule end``: last end +
interval, which is what HA's coordinator really does). The clients use the integration's
default timing (request timeout 3000 ms, 3 retries) unless told otherwise.

``--connections bus`` (default): every meter on one simulated 9600 baud RS-485 bus
(``python -m simulator iec102 --meter ... --dead ...`` in its own process) and one
:class:`Bus` shared by all clients, so the meters take turns. ``--connections each``:
one simulated line per meter, each on its own TCP port and its own :class:`Bus`. The
lines are served by ``--sim-processes`` helper processes (default 2, one per core of a
small machine), each running many :class:`MeterLine` on one event loop: 100 simulator
processes would cost ~100 interpreters, and serving them in the benchmark's own
process would let the simulator's pacing show up as the client's event-loop lag.

``--dead N`` meters never answer (the first N link addresses; they are due 1 ms before
the others, so they take the line first every scan: the worst place for the others).
``--demotion N,DELAY`` (default 3,60; ``off``): after N failed polls in a row a meter
goes off scan; its ticks send nothing until DELAY s after the failure, then one attempt
decides (the core's ``ScanState``, used the same way as the coordinator uses it).

Figures and goals:

* achieved poll interval of every live meter (mean gap between its successful reads;
  min / median / max over meters) and the longest single gap; goal: every live meter
  read every scan (no scan missed, no gap >= 1.5 x interval);
* bus utilisation (share of wall time the line was in a turn); goal <= 50 %, the
  headroom retries, clock reads and the pass-through gateway need;
* worst poll lag (when a poll got the line vs. its due time), from the scan where
  demotion can have taken a dead meter off scan (the first N scans cost its retries);
  goal: no longer than the line needs to read every live meter of its bus once + 1 s,
  i.e. a meter waits for its neighbours' reads, and for at most one single-try attempt
  of a demoted meter;
* event-loop lag p99 (a task sleeping 10 ms, measuring its oversleep); goal < 10 ms;
* memory per meter (VmRSS growth from before the clients exist to after the run);
  goal <= 100 kB.

Run time: ``--scans`` x ``--scan-interval`` (default 8 x 30 s = 4 min) plus the end of
the last polls (at most one dead-meter poll, 12 s) and a few seconds of setup.

Run: ``.venv/bin/python benchmarks/bus.py [--meters 32] [--dead 1] [--demotion 3,60|off]``
and ``.venv/bin/python benchmarks/bus.py --connections each --meters 100``
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
from contextvars import ContextVar
import dataclasses
from dataclasses import dataclass, field
import itertools
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_components.iec_meter.core.bus import Bus  # noqa: E402
from custom_components.iec_meter.core.demotion import (  # noqa: E402
    DemotionSettings,
    ScanState,
)
from custom_components.iec_meter.core.errors import MeterError  # noqa: E402
from custom_components.iec_meter.core.iec102.client import Iec102Client  # noqa: E402
from custom_components.iec_meter.core.iec102.settings import Iec102Settings  # noqa: E402
from custom_components.iec_meter.core.iec102.timecodec import now_in  # noqa: E402
from custom_components.iec_meter.core.timing import (  # noqa: E402
    DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_RETRIES,
    Timing,
    one_try,
)
from custom_components.iec_meter.core.transport import LineSettings  # noqa: E402
from simulator.iec102_meter import MeterConfig, SimulatedMeter  # noqa: E402
from simulator.line import LineOptions, MeterLine  # noqa: E402
from simulator.meter_model import MeterModel  # noqa: E402

TZ = ZoneInfo("Europe/Madrid")
#: The coordinator reads the meter's clock this often (const.CLOCK_READ_INTERVAL).
CLOCK_READ_INTERVAL_S = 300.0
LOOP_TICK_S = 0.010
LOOP_LAG_GOAL_S = 0.010
UTILISATION_GOAL = 0.50
MEMORY_GOAL_KB = 100.0
#: A gap this many scan intervals long means a scan was missed.
MISSED_SCAN_FACTOR = 1.5
LAG_SLACK_S = 1.0
#: Dead meters are due this much earlier, so they queue first for the line every scan.
DEAD_HEAD_START_S = 0.001


# --- figures (pure functions) ------------------------------------------------------------
def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` (0-1) percentile of ``values``, interpolated between ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def busy_share(intervals: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """Share of ``[start, end]`` covered by the ``(begin, finish)`` intervals."""
    if end <= start:
        raise ValueError("empty window")
    covered = 0.0
    reach = start
    for begin, finish in sorted(intervals):
        low, high = max(begin, reach), min(finish, end)
        if high > low:
            covered += high - low
            reach = high
    return covered / (end - start)


def gaps(times: Sequence[float]) -> list[float]:
    """Time between successive moments."""
    ordered = sorted(times)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


# --- polling -----------------------------------------------------------------------------
@dataclass
class Poll:
    """One poll of one meter."""

    link: int
    due: float
    woke: float
    #: When the poll's first turn got the line.
    turn_start: float | None = None
    end: float = 0.0
    ok: bool = False
    error: str = ""
    demoted: bool = False

    @property
    def lag(self) -> float:
        """How late the poll got the line (or ended, if it never got it)."""
        return (self.turn_start if self.turn_start is not None else self.end) - self.due


_CURRENT_POLL: ContextVar[Poll | None] = ContextVar("current_poll", default=None)


class MeteredBus(Bus):
    """A bus that records its turns, and the first turn of each poll."""

    def __init__(self, line: LineSettings, timing: Timing | None = None) -> None:
        """Prepare the bus and an empty record of turns."""
        super().__init__(line, timing)
        #: (start, end, link address or 0) of every turn.
        self.turn_log: list[tuple[float, float, int]] = []

    async def run[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run the turn, noting when it got the line and when it gave it back."""
        loop = asyncio.get_running_loop()
        poll = _CURRENT_POLL.get()

        async def timed() -> T:
            start = loop.time()
            if poll is not None and poll.turn_start is None:
                poll.turn_start = start
            try:
                return await operation()
            finally:
                self.turn_log.append((start, loop.time(), poll.link if poll else 0))

        return await super().run(timed)


async def poll_meter(
    client: Iec102Client,
    link: int,
    interval: float,
    first_due: float,
    stop_at: float,
    demotion: DemotionSettings,
    schedule: str,
    polls: list[Poll],
) -> None:
    """Poll one meter like the integration's coordinator until ``stop_at``.

    Every tick of the schedule is a refresh; while the meter is off scan (the core's
    :class:`ScanState`, as the coordinator uses it) the tick sends nothing.
    """
    loop = asyncio.get_running_loop()
    scan = ScanState(demotion, clock=loop.time)
    due = first_due
    clock_read_at: float | None = None
    while due < stop_at:
        await asyncio.sleep(max(0.0, due - loop.time()))
        woke = loop.time()
        if not scan.may_poll():
            due = woke + interval
            continue
        poll = Poll(link, due, woke)
        _CURRENT_POLL.set(poll)
        try:
            # As the coordinator: the attempt of a meter off scan is a single try.
            with contextlib.nullcontext() if scan.on_scan else one_try():
                await client.read_values()
            now = loop.time()
            if clock_read_at is None or now - clock_read_at >= CLOCK_READ_INTERVAL_S:
                await client.read_clock()
                clock_read_at = now
            poll.ok = True
        except MeterError as err:
            poll.error = type(err).__name__
        finally:
            poll.end = loop.time()
            _CURRENT_POLL.set(None)
        polls.append(poll)
        if poll.ok:
            scan.success()
        else:
            scan.failure()
            poll.demoted = not scan.on_scan
        due = (poll.woke if schedule == "start" else poll.end) + interval


async def watch_loop(stop: asyncio.Event, lags: list[float]) -> None:
    """Sleep 10 ms again and again; record each oversleep."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(LOOP_TICK_S)
        lags.append(time.perf_counter() - start - LOOP_TICK_S)


def rss_kb() -> float:
    """Resident set size of this process now (kB)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return float(row.split()[1])
    raise RuntimeError("no VmRSS")


# --- simulators --------------------------------------------------------------------------
def start_process(command: list[str]) -> tuple[subprocess.Popen[str], list[str]]:
    """Start a simulator process; return it and the URLs of its READY line."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    ready = process.stdout.readline().split()
    if not ready or ready[0] != "READY":
        process.kill()
        raise SystemExit(f"simulator did not start: {command[:6]}")
    return process, ready[1:]


def bus_simulator(links: list[int], dead: set[int], baud: int, latency_ms: float) -> list[str]:
    """The simulator CLI serving every meter on one bus."""
    command = [sys.executable, "-m", "simulator", "iec102", "--tcp", "127.0.0.1:0"]
    for link in links:
        command += ["--meter", f"{link},1,1"]
    for link in sorted(dead):
        command += ["--dead", str(link)]
    return [*command, "--baud", str(baud), "--latency-ms", str(latency_ms)]


def lines_simulator(links: list[int], dead: set[int], baud: int, latency_ms: float) -> list[str]:
    """This script serving one line (own TCP port) per meter."""
    dead_links = ",".join(str(link) for link in sorted(dead & set(links))) or "-"
    return [
        sys.executable, str(Path(__file__).resolve()), "--serve",
        ",".join(str(link) for link in links), "--serve-dead", dead_links,
        "--baud", str(baud), "--latency-ms", str(latency_ms),
    ]  # fmt: skip


async def serve_lines(links: list[int], dead: set[int], baud: int, latency_ms: float) -> None:
    """Serve one simulated line per link address until stdin closes or SIGTERM."""
    lines = []
    for link in links:
        meter = SimulatedMeter(
            MeterConfig(link_address=link),
            TZ,
            lambda: now_in(TZ),
            model=MeterModel(seed=link),
            dead=link in dead,
        )
        lines.append(MeterLine([meter], LineOptions(baud=baud, latency_ms=latency_ms)))
    urls = [await line.start_tcp() for line in lines]
    print("READY", *urls, flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()


# --- one run ---------------------------------------------------------------------------
@dataclass
class Run:
    """What one run measured."""

    links: list[int]
    dead: set[int]
    interval: float
    start: float
    stop_at: float
    polls: list[Poll] = field(default_factory=list)
    buses: list[MeteredBus] = field(default_factory=list)
    loop_lags: list[float] = field(default_factory=list)
    rss_growth_kb: float = 0.0
    wall_s: float = 0.0


async def run(args: argparse.Namespace) -> Run:
    """Start the simulators, poll every meter for ``--scans`` scans, gather the figures."""
    links = list(range(1, args.meters + 1))
    dead = set(links[: args.dead])
    if args.connections == "bus":
        commands = [bus_simulator(links, dead, args.baud, args.latency_ms)]
    else:
        share = -(-len(links) // args.sim_processes)
        commands = [
            lines_simulator(links[i : i + share], dead, args.baud, args.latency_ms)
            for i in range(0, len(links), share)
        ]
    processes = [start_process(command) for command in commands]
    urls = [url for _, found in processes for url in found]
    timing = Timing(request_timeout_ms=args.timeout_ms, retries=args.retries)
    demotion = (
        DemotionSettings(enabled=False)
        if args.demotion is None
        else DemotionSettings(failures=args.demotion[0], delay_ms=round(args.demotion[1] * 1000))
    )
    loop = asyncio.get_running_loop()
    try:
        rss_before = rss_kb()
        clients: list[tuple[int, Iec102Client]] = []
        buses: list[MeteredBus] = []
        for index, link in enumerate(links):
            if args.connections == "bus" and buses:
                bus = buses[0]
            else:
                bus = MeteredBus(LineSettings(urls[index if len(urls) > 1 else 0]), timing)
                buses.append(bus)
            clients.append((link, Iec102Client(bus, Iec102Settings(link, 1, 1), TZ)))
        start = loop.time() + 0.1
        result = Run(
            links, dead, args.scan_interval, start, start + args.scans * args.scan_interval
        )
        result.buses = buses
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_loop(stop, result.loop_lags))
        pollers = [
            asyncio.create_task(
                poll_meter(
                    client,
                    link,
                    args.scan_interval,
                    # A dead meter takes the line first: the worst place for the others.
                    start - DEAD_HEAD_START_S if link in dead else start,
                    result.stop_at,
                    demotion,
                    args.schedule,
                    result.polls,
                )
            )
            for link, client in clients
        ]
        await asyncio.gather(*pollers)
        stop.set()
        await watcher
        result.wall_s = loop.time() - start
        result.rss_growth_kb = rss_kb() - rss_before
        for bus in buses:
            await bus.close()
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=10)
    return result


# --- report ----------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(result: Run, args: argparse.Namespace) -> bool:
    interval = result.interval
    live = [link for link in result.links if link not in result.dead]
    by_link: dict[int, list[Poll]] = {link: [] for link in result.links}
    for poll in result.polls:
        by_link[poll.link].append(poll)
    oks = True

    # Achieved poll interval of every live meter.
    means: list[float] = []
    longest = 0.0
    failed_live = 0
    served: list[int] = []
    for link in live:
        ends = [poll.end for poll in by_link[link] if poll.ok]
        served.append(len(ends))
        failed_live += sum(1 for poll in by_link[link] if not poll.ok)
        # The mean leaves the first scan out: every meter logs in then, all at once.
        settled = gaps([p.end for p in by_link[link] if p.ok and p.due >= result.start + interval])
        between = gaps(ends)
        means.append(statistics.fmean(settled) if settled else float("inf"))
        longest = max(longest, *between) if between else float("inf")
    # The median is shown, not judged: over a few scans it carries the early scans'
    # lag (a meter read late in scan 2 and on time in scan 8 averages under 30 s).
    ok = longest < MISSED_SCAN_FACTOR * interval and failed_live == 0 and min(served) >= args.scans
    oks &= ok
    print(
        f"achieved interval of {len(live)} live meters (after the first scan): min "
        f"{min(means):6.2f} s  median {statistics.median(means):6.2f} s  max "
        f"{max(means):6.2f} s; longest gap "
        f"{longest:6.2f} s; reads per meter {min(served)}-{max(served)} of {args.scans} "
        f"scans; failed live polls {failed_live}\n"
        f"    goal: every live meter read every scan (gap < {MISSED_SCAN_FACTOR:g} x "
        f"{interval:g} s, no scan missed)  {verdict(ok)}"
    )

    # Bus utilisation.
    window = (result.start, result.stop_at)
    live_buses = [
        bus for bus in result.buses if any(link not in result.dead for *_, link in bus.turn_log)
    ]
    shares = [busy_share([(s, e) for s, e, _ in bus.turn_log], *window) for bus in live_buses]
    dead_share = max(
        busy_share([(s, e) for s, e, link in bus.turn_log if link in result.dead], *window)
        for bus in result.buses
    )
    ok = max(shares) <= UTILISATION_GOAL
    oks &= ok
    spread = (
        f"{shares[0]:.1%}"
        if len(shares) == 1
        else f"median {statistics.median(shares):.1%}  max {max(shares):.1%} over "
        f"{len(shares)} lines with a live meter"
    )
    print(
        f"bus utilisation: {spread} (dead meters' turns: {dead_share:.1%} of the busiest line)\n"
        f"    goal: <= {UTILISATION_GOAL:.0%} (headroom for retries, clocks, gateway)  "
        f"{verdict(ok)}"
    )

    # Poll lag.
    live_turns = [
        statistics.median(e - s for s, e, link in bus.turn_log if link == poll_link)
        for bus in result.buses
        for poll_link in {link for _, _, link in bus.turn_log if link not in result.dead}
    ]
    per_bus = len(live) / len(live_buses)
    bound = statistics.median(live_turns) * per_bus + LAG_SLACK_S if live_turns else LAG_SLACK_S
    if result.dead and args.demotion is not None:
        bound += args.timeout_ms / 1000  # one single-try attempt of a demoted meter
    # Until a dead meter has failed N times it costs all its retries on every scan: the
    # lag is judged once demotion can have taken it off scan (after the first scan
    # without demotion).
    settle_scans = args.demotion[0] if args.demotion is not None and result.dead else 1
    settle = result.start + settle_scans * interval
    steady = [poll for poll in result.polls if poll.due >= settle and poll.link not in result.dead]
    lags = [poll.lag for poll in steady]
    worst = max(lags) if lags else float("nan")
    all_worst = max(poll.lag for poll in result.polls if poll.link not in result.dead)
    late = sum(1 for lag in lags if lag > bound)
    ok = worst <= bound
    oks &= ok
    print(
        f"poll lag from scan {settle_scans + 1} on: worst {worst:6.2f} s  p95 "
        f"{percentile(lags, 0.95):6.2f} s  median {statistics.median(lags):5.2f} s; {late} of "
        f"{len(lags)} polls later than the goal (all scans: worst {all_worst:6.2f} s)\n"
        f"    goal: <= one read of every live meter on the bus + {LAG_SLACK_S:g} s"
        f"{' + one attempt of a demoted meter' if result.dead and args.demotion else ''} = "
        f"{bound:5.2f} s  {verdict(ok)}"
    )

    # Event loop.
    p99 = percentile(result.loop_lags, 0.99)
    ok = p99 < LOOP_LAG_GOAL_S
    oks &= ok
    print(
        f"event-loop lag: p99 {p99 * 1000:6.2f} ms  max {max(result.loop_lags) * 1000:6.2f} ms"
        f"  [{len(result.loop_lags)} ticks of {LOOP_TICK_S * 1000:g} ms]\n"
        f"    goal: p99 < {LOOP_LAG_GOAL_S * 1000:g} ms  {verdict(ok)}"
    )

    # Memory.
    per_meter = result.rss_growth_kb / len(result.links)
    ok = per_meter <= MEMORY_GOAL_KB
    oks &= ok
    print(
        f"memory: RSS +{result.rss_growth_kb / 1024:.2f} MB = {per_meter:6.1f} kB per meter\n"
        f"    goal: <= {MEMORY_GOAL_KB:g} kB per meter  {verdict(ok)}"
    )

    # The dead meters.
    for link in sorted(result.dead):
        polls = by_link[link]
        line_time = sum(
            end - begin for bus in result.buses for begin, end, turn in bus.turn_log if turn == link
        )
        demoted = sum(1 for poll in polls if poll.demoted)
        print(
            f"dead meter {link}: {len(polls)} polls ({demoted} ended off scan), "
            f"{line_time:.1f} s of line time, {line_time / len(polls):.1f} s per poll"
        )
    return oks


def _demotion(text: str) -> tuple[int, float] | None:
    if text == "off":
        return None
    failures, _, delay = text.partition(",")
    try:
        return int(failures), float(delay)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N,DELAY_S or off, got {text!r}") from None


def _links(text: str) -> set[int]:
    return set() if text == "-" else {int(part) for part in text.split(",")}


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--meters", type=int, default=32)
    parser.add_argument("--dead", type=int, default=1, help="meters that never answer")
    parser.add_argument("--scan-interval", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--scans", type=int, default=8)
    parser.add_argument("--connections", choices=("bus", "each"), default="bus")
    parser.add_argument("--demotion", type=_demotion, default=(3, 60.0), metavar="N,DELAY_S|off")
    parser.add_argument("--schedule", choices=("start", "end"), default="start")
    parser.add_argument("--timeout-ms", type=int, default=DEFAULT_REQUEST_TIMEOUT_MS)
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES)
    parser.add_argument("--baud", type=int, default=9600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--sim-processes", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="write every poll as JSON lines here")
    parser.add_argument("--serve", type=_links, help=argparse.SUPPRESS)
    parser.add_argument("--serve-dead", type=_links, default=set(), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        await serve_lines(sorted(args.serve), args.serve_dead, args.baud, args.latency_ms)
        return 0
    demotion = "off" if args.demotion is None else "{},{:g} s".format(*args.demotion)
    print(
        f"{args.meters} meters ({args.dead} dead) on "
        + ("one bus" if args.connections == "bus" else f"{args.meters} TCP connections")
        + f", {args.baud} baud, {args.latency_ms:g} ms latency; scan {args.scan_interval:g} s"
        f" x {args.scans} (schedule from {args.schedule}); timeout {args.timeout_ms} ms, "
        f"{args.retries} retries; demotion {demotion}",
        flush=True,
    )
    wall = time.perf_counter()
    result = await run(args)
    ok = report(result, args)
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for poll in result.polls:
                row = dataclasses.asdict(poll)
                for key in ("due", "woke", "turn_start", "end"):
                    if row[key] is not None:
                        row[key] = round(row[key] - result.start, 3)
                out.write(json.dumps(row) + "\n")
    print(f"run time {time.perf_counter() - wall:.0f} s (polling {result.wall_s:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
