"""The simulated IEC 62056-21 meters: protocol engine, data, command line."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.iec62056 import Iec62056Client, Iec62056Settings, Mode
from custom_components.iec_meter.core.iec62056.datasets import parse_data_block
from custom_components.iec_meter.core.iec62056.messages import (
    decode_block,
    option_select,
    parse_identification,
)
from custom_components.iec_meter.core.iec62056.obis import signals
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from simulator.cli import build_parser, serve
from simulator.iec62056_line import build_line
from simulator.iec62056_meter import (
    Iec62056MeterConfig,
    MeterBus,
    SimulatedIec62056Meter,
    load_data_file,
)
from simulator.meter_model import MeterModel

TZ = ZoneInfo("Europe/Madrid")


def meter(**config: object) -> SimulatedIec62056Meter:
    return SimulatedIec62056Meter(
        Iec62056MeterConfig(**config),  # type: ignore[arg-type]
        TZ,
        lambda: datetime(2024, 6, 1, 13, 0, tzinfo=TZ),
        MeterModel(seed=1),
    )


def test_live_values_cover_every_signal() -> None:
    lines = meter().lines()
    values, stamp = signals(parse_data_block("\r\n".join(lines)).data_sets, TZ)
    expected = {
        "active_energy_import", "active_energy_export", "active_power", "reactive_power",
        "active_power_l1", "active_power_l2", "active_power_l3", "voltage_l1", "current_l3",
        "power_factor", "power_factor_l2", "frequency", "max_demand", "max_demand_time",
        "active_energy_import_t2", "reactive_energy_q4",
    }  # fmt: skip
    assert expected <= set(values)
    assert stamp == datetime(2024, 6, 1, 13, 0, tzinfo=TZ)
    assert values["active_power"] is not None
    assert "1.8.0*24(" in "".join(lines)


def test_single_phase_meter_has_no_l2() -> None:
    simulated = SimulatedIec62056Meter(
        Iec62056MeterConfig(three_phase=False),
        TZ,
        lambda: datetime(2024, 6, 1, 1, 0, tzinfo=TZ),
        MeterModel(three_phase=False),
    )
    values, _ = signals(parse_data_block("\n".join(simulated.lines())).data_sets, TZ)
    assert "voltage_l2" not in values


def test_identification_per_mode() -> None:
    assert parse_identification(meter(mode=Mode.B).identification().encode()).baud_char == "E"
    assert meter(mode=Mode.C).identification().baud_char == "5"
    assert meter(mode=Mode.D).identification().baud_char == "3"
    assert meter(mode=Mode.A).identification().baud_char == "0"


def test_partial_blocks_and_data_file(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("1.8.0(1*kWh)\n\n2.8.0(2*kWh)\n3.8.0(3*kvarh)\n", encoding="ascii")
    lines = load_data_file(path)
    blocks = meter(data_lines=lines, block_lines=2).blocks()
    assert [decode_block(block).final for block in blocks] == [False, True]


def test_bus_conversation() -> None:
    bus = MeterBus([meter(address="42")])
    assert bus.feed(b"\x00\x00xyz") == []
    assert bus.awake
    assert bus.feed(b"/?41!\r\n") == []
    [ident] = bus.feed(b"/?42")[:0] + bus.feed(b"!\r\n")
    assert ident.kind == "identification"
    assert bus.listening_speeds() == {300}
    assert bus.feed(b"\x06") == []  # waits for the whole option select
    [data] = bus.feed(b"050\r\n")
    assert data.baudrate == 9600
    assert bus.listening_speeds() == {300, 9600}
    [again] = bus.feed(b"\x15")
    assert again.data == data.data
    assert bus.feed(b"\x01B0\x03") == []
    assert bus.feed(b"q") == []
    assert bus.speed == 300
    # Too fast, or not a readout: refused.
    bus.feed(b"/?42!\r\n")
    assert bus.feed(option_select(19200)) == []
    bus.feed(b"/?42!\r\n")
    assert bus.feed(b"\x06051\r\n") == []
    assert bus.feed(b"/" + b"x" * 80) == []
    assert bus.feed(b"\x15") == []


def test_blocks_are_acknowledged_one_by_one() -> None:
    bus = MeterBus([meter(mode=Mode.A, data_lines=("a(1)", "b(2)", "c(3)"), block_lines=1)])
    _, first = bus.feed(b"/?!\r\n")
    assert not decode_block(first.data).final
    assert len(bus.feed(b"\x06")) == 1
    [third] = bus.feed(b"\x06")
    assert decode_block(third.data).final
    assert bus.feed(b"\x06") == []
    assert bus.push() == []


def test_cli_builds_a_line() -> None:
    args = build_parser().parse_args(
        [
            "iec62056", "--meter", "1001", "--meter", "1002:99", "--mode", "B",
            "--baud", "4800", "--corrupt-every", "3", "--echo", "--parity-bit7",
            "--fake-switch", "--no-pace",
        ]
    )  # fmt: skip
    line = build_line(args)
    assert [m.config.address for m in line.meters] == ["1001", "1002"]
    assert [m.config.serial for m in line.meters] == ["12345678", "99"]
    assert line.meters[0].config.mode is Mode.B
    assert line.meters[0].config.fake_switch
    assert line.options.faults.corrupt_every == 3
    assert line.options.faults.echo
    assert not line.options.pace
    single = build_line(build_parser().parse_args(["iec62056", "--serial", "AB", "--meter", "1"]))
    assert single.meters[0].config.serial == "AB"


@pytest.mark.parametrize("bad", ["--tcp=nope", "--mode=E", "--baud=300"])
def test_bad_arguments(bad: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["iec62056", bad])


@pytest.mark.parametrize("where", [["--tcp", "127.0.0.1:0"], ["--pty"]])
async def test_serve_prints_ready_and_reads(
    where: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "data.txt"
    path.write_text("C.1.0(4711)\n1.8.0(1.5*kWh)\n", encoding="ascii")
    args = build_parser().parse_args(
        ["iec62056", *where, "--no-pace", "--initial-baud", "2400", "--data-file", str(path)]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(args, stop))
    out = ""
    for _ in range(100):
        out = capsys.readouterr().out
        if out:
            break
        await asyncio.sleep(0.01)
    assert out.startswith("READY ")
    assert out.count("\n") == 1
    url = out.split()[1]
    bus = Bus(
        LineSettings(url, baudrate=2400, bytesize=7, parity="E"), Timing(request_timeout_ms=500)
    )
    client = Iec62056Client(
        bus, Iec62056Settings(initial_baudrate=2400, t2_ms=200, poll_delay_ms=0), TZ
    )
    try:
        reading = await client.read_values()
    finally:
        await bus.close()
        stop.set()
        await task
    assert reading.values["active_energy_import"] == 1.5
