"""``python -m simulator``: arguments, READY line, serving until stopped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import io
import os
from pathlib import Path
import signal
import sys
import threading

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import NoResponse
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.transport import LineSettings
from simulator.cli import build_line, build_parser, main, serve
from simulator.iec102_meter import DEFAULT_HISTORY_DAYS
from tests.conftest import FAST, MADRID, client_for, serving

ROOT = Path(__file__).resolve().parents[2]


def test_arguments_build_a_bus_with_faults() -> None:
    args = build_parser().parse_args(
        [
            "iec102",
            "--meter", "11,1,7",
            "--meter", "12,2,8",
            "--single-phase",
            "--corrupt-every", "3",
            "--unsupported", "162",
            "--baud", "9600",
            "--header-noise-every", "5",
            "--babble", "2.5",
            "--no-data",
        ]
    )  # fmt: skip
    line = build_line(args)
    assert [m.config.link_address for m in line.meters] == [11, 12]
    assert [m.config.password for m in line.meters] == [7, 8]
    assert not line.meters[0].config.three_phase
    assert line.meters[1].unsupported == frozenset({162})
    assert line.options.faults.corrupt_every == 3
    assert line.options.baud == 9600
    assert line.options.faults.header_noise_every == 5
    assert line.options.faults.babble == 2.5
    assert line.options.faults.no_data


@pytest.mark.parametrize("bad", ["--tcp=nope", "--meter=1,2", "--meter=a,b,c"])
def test_bad_arguments(bad: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["iec102", bad])


async def test_serve_prints_ready_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["iec102", "--tcp", "127.0.0.1:0", "--password", "7"])
    stop = asyncio.Event()
    task = asyncio.create_task(serve(args, stop))
    for _ in range(100):
        out = capsys.readouterr().out
        if out:
            break
        await asyncio.sleep(0.01)
    assert out.startswith("READY socket://127.0.0.1:")
    assert out.count("\n") == 1
    async with client_for(out.split()[1], Iec102Settings(1, 1, 7)) as client:
        assert (await client.read_identity()).serial == "48300001"
    stop.set()
    await task


@pytest.mark.parametrize("protocol", ["iec102", "iec62056"])
@pytest.mark.parametrize("where", [["--pty"], ["--tcp", "127.0.0.1:0"]])
async def test_module_prints_exactly_one_ready_line(protocol: str, where: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", protocol, *where,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), 30)
        await asyncio.sleep(0.3)  # time for anything else it would print
    finally:
        process.terminate()
    # Everything it printed, up to its exit.
    rest = await asyncio.wait_for(process.stdout.read(), 10)
    assert await asyncio.wait_for(process.wait(), 10) == 0
    lines = (first + rest).decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("READY ")
    url = lines[0].split()[1]
    assert url.startswith(("/dev/pts/", "socket://127.0.0.1:"))


class _ReadyWatch(io.StringIO):
    """stdout that tells a thread when the READY line is out."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if "\n" in self.getvalue():
            self.ready.set()
        return written


@pytest.mark.parametrize("protocol", ["iec102", "iec62056"])
def test_main_serves_until_sigterm(protocol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` installs its own SIGTERM handler: the signal stops it cleanly (status 0)."""
    out = _ReadyWatch()
    monkeypatch.setattr(sys, "stdout", out)

    def terminate_when_ready() -> None:
        if out.ready.wait(30):  # the handler is installed before READY is printed
            os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_when_ready, daemon=True)
    killer.start()
    loop = asyncio.get_event_loop()  # the test's own loop: asyncio.run() unsets it
    try:
        status = main([protocol, "--tcp", "127.0.0.1:0", "--verbose"])
    finally:
        asyncio.set_event_loop(loop)
        out.ready.set()
        killer.join(5)
    assert status == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("READY socket://127.0.0.1:")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler gone with the loop


def test_dead_marks_the_meter_at_that_link_address() -> None:
    args = build_parser().parse_args(
        ["iec102", "--meter", "1,1,1", "--meter", "2,1,1", "--meter", "3,1,1",
         "--dead", "2", "--dead", "3"]
    )  # fmt: skip
    line = build_line(args)
    assert [m.dead for m in line.meters] == [False, True, True]
    # One meter from the three single options: --dead names its link address.
    line = build_line(build_parser().parse_args(["iec102", "--link-address", "9", "--dead", "9"]))
    assert line.meters[0].dead


def test_dead_link_address_must_be_on_the_bus(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["iec102", "--meter", "1,1,1", "--dead", "4"])
    with pytest.raises(ValueError, match="--dead 4: no meter with that link address"):
        build_line(args)
    with pytest.raises(SystemExit) as exited:
        main(["iec102", "--meter", "1,1,1", "--dead", "4"])
    assert exited.value.code == 2
    assert "--dead 4: no meter with that link address on the bus" in capsys.readouterr().err


async def test_served_dead_meter_never_answers_and_its_neighbour_does() -> None:
    args = build_parser().parse_args(
        ["iec102", "--tcp", "127.0.0.1:0", "--meter", "1,1,1", "--meter", "2,1,1", "--dead", "2"]
    )
    line = build_line(args)
    async with serving(line) as url, Bus(LineSettings(url, connect_timeout=2.0), FAST) as bus:
        dead = Iec102Client(bus, Iec102Settings(2, 1, 1), MADRID)
        alive = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        with pytest.raises(NoResponse):
            await dead.read_values()
        assert line.answers_sent == 0
        assert [address for address, *_ in line.trace] == [2] * (FAST.retries + 1)
        assert (await alive.read_identity()).serial == "48300001"


def test_history_options_and_a_frozen_clock() -> None:
    default = build_line(build_parser().parse_args(["iec102"])).meters[0]
    assert default.history_days == DEFAULT_HISTORY_DAYS
    assert default.profile.faults is not None
    assert abs(default.clock() - datetime.now(MADRID)) < timedelta(minutes=1)
    args = build_parser().parse_args(
        ["iec102", "--history-days", "30", "--no-history-faults",
         "--now", "2026-10-25T02:30", "--clock-offset", "5"]
    )  # fmt: skip
    meter = build_line(args).meters[0]
    assert meter.history_days == 30
    assert meter.profile.faults is None
    # A repeated wall time is its first (summer) occurrence, as the read command takes it.
    assert meter.clock().astimezone(UTC) == datetime(2026, 10, 25, 0, 30, 5, tzinfo=UTC)
    assert meter.history.origin == datetime(2026, 9, 25, tzinfo=MADRID)
    skipped = build_parser().parse_args(["iec102", "--now", "2026-03-29T02:30"])
    assert build_line(skipped).meters[0].clock().astimezone(UTC) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "bad",
    ["--history-days=0", "--history-days=-3", "--history-days=x", "--now=2026-10-25",
     "--now=2026-13-01T00:00"],
)  # fmt: skip
def test_bad_history_arguments(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["iec102", bad])
    assert "expected" in capsys.readouterr().err
