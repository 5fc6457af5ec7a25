"""``python -m custom_components.iec_meter read`` against the simulator process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
import contextlib
from datetime import datetime, timedelta
import json
import os
from pathlib import Path
import sys
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.iec_meter import cli
from custom_components.iec_meter.core.driver import FieldKind, SettingField
from custom_components.iec_meter.core.drivers import DRIVERS
from custom_components.iec_meter.core.errors import NoResponse
from custom_components.iec_meter.core.iec102.signals import IEC102_SIGNALS
from custom_components.iec_meter.core.iec62056.obis import SIGNAL_KEYS as IEC62056_SIGNAL_KEYS
from custom_components.iec_meter.core.plausibility import Limits
from simulator.cli import build_parser
from simulator.iec62056_line import Iec62056Line, build_line
from tests.wrong_values import readout_changed, replaced_value

SIGNAL_KEYS = sorted(IEC102_SIGNALS)

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
async def simulator_url() -> AsyncIterator[str]:
    """A real simulator process serving meter 1 (point 1, password 7) on TCP."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "iec102", "--tcp", "127.0.0.1:0", "--password", "7",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=ENV,
    )  # fmt: skip
    assert process.stdout is not None
    ready = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert ready.startswith("READY ")
    try:
        yield ready.split()[1]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_table(simulator_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = await cli.run(["read", "--url", simulator_url, "--password", "7"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Serial number      48300001" in out
    assert "Manufacturer code  66" in out
    assert "Meter clock" in out
    for key in SIGNAL_KEYS:
        assert key in out
    assert "kWh" in out


async def test_json(simulator_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = await cli.run(["read", "--url", simulator_url, "--password", "7", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert set(SIGNAL_KEYS) <= set(document)
    assert all(isinstance(document[key], float) for key in SIGNAL_KEYS)
    assert document["identity"] == {
        "manufacturer_code": 66,
        "serial_number": 48300001,
        "standard_date": "04/2002",
    }
    assert document["timestamp"].startswith("20")
    assert document["clock"].startswith("20")


async def test_rejected_password_exits_2(
    simulator_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await cli.run(["read", "--url", simulator_url, "--password", "8", "--json"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "password rejected" in captured.err


async def test_silent_meter_exits_1_with_a_hint(
    simulator_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await cli.run(
        [
            "read",
            "--url",
            simulator_url,
            "--link-address",
            "9",
            "--timeout",
            "0.1",
            "--retries",
            "0",
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert "no answer" in err
    assert "hint: Check the meter's address (link address for IEC 102" in err


async def test_unreachable_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status = await cli.run(["read", "--url", "/dev/does-not-exist"])
    err = capsys.readouterr().err
    assert status == 1
    assert "does-not-exist" in err
    assert "hint: Check the serial port path" in err


async def test_bad_time_zone_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.run(["read", "--url", "/dev/null", "--time-zone", "Mars/Olympus"]) == 1
    assert "Mars/Olympus" in capsys.readouterr().err


#: Runs the command as ``python -m`` would, in a Python where Home Assistant cannot be
#: imported (it is installed here, so importing it must be made to fail), then checks it
#: was never loaded. CI also runs the command in an environment with only serialx.
WITHOUT_HOME_ASSISTANT = """
import runpy, sys

class NoHomeAssistant:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "homeassistant":
            raise ImportError("Home Assistant must not be needed by the read command")

sys.meta_path.insert(0, NoHomeAssistant())
try:
    runpy.run_module("custom_components.iec_meter", run_name="__main__", alter_sys=True)
finally:
    assert not any(name.startswith("homeassistant") for name in sys.modules)
"""


async def without_home_assistant(*args: str) -> Any:
    """Run the command with ``args`` where Home Assistant cannot be imported; its JSON."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WITHOUT_HOME_ASSISTANT, *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


async def test_as_a_module_without_home_assistant(simulator_url: str) -> None:
    document = await without_home_assistant(
        "read", "--url", simulator_url, "--password", "7", "--json"
    )
    assert document["identity"]["serial_number"] == 48300001


async def test_invalid_values_are_null_in_json_and_invalid_in_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A single-phase meter flags L2/L3 invalid: null in JSON, "invalid" in the table."""
    async with simulator("iec102", "--tcp", "127.0.0.1:0", "--single-phase") as url:
        assert await cli.run(["read", "--url", url, "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        assert await cli.run(["read", "--url", url]) == 0
        table = capsys.readouterr().out
    assert document["voltage_l2"] is None
    assert isinstance(document["voltage_l1"], float)
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}
    assert rows["voltage_l2"] == ["invalid", "V"]
    assert rows["voltage_l1"][1] == "V"


# --- IEC 62056-21 ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def simulator(*args: str) -> AsyncIterator[str]:
    """A real simulator process (``python -m simulator ARGS``); yields its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=ENV,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        ready = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert ready.startswith("READY "), ready
        yield ready.split()[1]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


#: A fast IEC 62056-21 meter: no wire-time pacing.
FAST_62056 = ("iec62056", "--tcp", "127.0.0.1:0", "--no-pace")
#: A quick read: the shortest t2 and answer timeout the meter still meets.
QUICK_READ = ("read", "--protocol", "iec62056", "--t2-ms", "200")

#: A readout whose every data set the contract test checks.
DATA_LINES = """
C.1.0(12345678)
0.9.1(101500)
0.9.2(260621)
F.F(00000000)
1.8.0(012345.678*kWh)
2.8.0(000100.5*kWh)
1.7.0(01.500*kW)
32.7.0(230.1*V)
1.6.0(02.345*kW)(2606211000)
1.8.0*24(011111.111*kWh)
0.2.0(SIM-1.0)
"""


async def test_iec62056_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "readout.txt"
    data.write_text(DATA_LINES, encoding="ascii")
    async with simulator(*FAST_62056, "--data-file", str(data)) as url:
        status = await cli.run(
            [*QUICK_READ, "--url", url, "--time-zone", "Europe/Madrid", "--json"]
        )
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert document == {
        "active_energy_import": 12345.678,
        "active_energy_export": 100.5,
        "active_power": 1.5,
        "voltage_l1": 230.1,
        "max_demand": 2.345,
        "max_demand_time": "2026-06-21T10:00:00+02:00",
        "identity": {"manufacturer": "ISk", "ident": "5MT174-SIM", "serial": "12345678"},
        "timestamp": "2026-06-21T10:15:00+02:00",
        "clock": None,  # no clock to read: the time stamp is the values' own
        "withheld": [],  # every signal plausible
        "obis": {
            "C.1.0": {"value": "12345678", "unit": None},
            "0.9.1": {"value": "101500", "unit": None},
            "0.9.2": {"value": "260621", "unit": None},
            "F.F": {"value": "00000000", "unit": None},
            "1.8.0": {"value": 12345.678, "unit": "kWh"},
            "2.8.0": {"value": 100.5, "unit": "kWh"},
            "1.7.0": {"value": 1.5, "unit": "kW"},
            "32.7.0": {"value": 230.1, "unit": "V"},
            "1.6.0": {"value": 2.345, "unit": "kW"},
            # The data set's second value: "<address>_2", as the README documents.
            "1.6.0_2": {"value": "2606211000", "unit": None},
            "1.8.0*24": {"value": 11111.111, "unit": "kWh"},
            "0.2.0": {"value": "SIM-1.0", "unit": None},
        },
    }
    sent = [line.partition("(")[0] for line in DATA_LINES.split()]
    assert list(document["obis"]) == [*sent[:9], "1.6.0_2", *sent[9:]]  # the meter's order


def _is_number_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


async def test_iec62056_json_of_a_live_meter(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # --time-zone wins over the machine's zone
    async with simulator(*FAST_62056, "--time-zone", "Europe/Madrid") as url:
        status = await cli.run(
            [*QUICK_READ, "--url", url, "--time-zone", "Europe/Madrid", "--json"]
        )
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    signals = set(document) - {"identity", "timestamp", "clock", "withheld", "obis"}
    assert signals <= IEC62056_SIGNAL_KEYS
    assert document["withheld"] == []
    assert {"active_energy_import", "active_power", "voltage_l3", "max_demand_time"} <= signals
    for key in signals - {"max_demand_time"}:
        assert _is_number_or_null(document[key]), key
    # Time stamps: ISO 8601 with the meter's offset, and the meter's "now".
    for stamp in (document["max_demand_time"], document["timestamp"]):
        when = datetime.fromisoformat(stamp)
        assert when.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
        assert abs((when - datetime.now(when.tzinfo)).total_seconds()) < 120
    assert document["identity"] == {
        "manufacturer": "ISk",
        "ident": "5MT174-SIM",
        "serial": "12345678",
    }
    obis = document["obis"]
    assert {"1.8.0", "C.1.0", "1.8.0*24"} <= set(obis)
    for item in obis.values():
        assert set(item) == {"value", "unit"}
        assert isinstance(item["value"], (int, float, str))
        assert item["unit"] is None or isinstance(item["unit"], str)
    assert obis["C.1.0"] == {"value": "12345678", "unit": None}
    assert obis["1.8.0"]["unit"] == "kWh"
    assert obis["1.8.0"]["value"] == document["active_energy_import"]


async def test_iec62056_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # this machine's zone, for this test
    async with simulator(*FAST_62056) as url:
        status = await cli.run([*QUICK_READ, "--url", url])
    out = capsys.readouterr().out
    assert status == 0
    lines = out.splitlines()
    assert "Manufacturer id  ISk" in lines
    assert "Identification   5MT174-SIM" in lines
    assert any(line.startswith("Values at ") for line in lines)
    assert not any(line.startswith("Meter clock") for line in lines)  # no clock
    # Signals: every one the protocol can deliver, delivered or not.
    signal_rows = {line.split()[0]: line for line in lines if line.split()[:1]}
    for key in IEC62056_SIGNAL_KEYS:
        assert key in signal_rows, key
    assert signal_rows["active_energy_import_t3"].split()[1:3] == ["not", "provided"]
    assert signal_rows["active_energy_import"].endswith("  kWh")
    header = next(line for line in lines if line.startswith("signal"))
    unit_column = header.index("unit")
    # No --time-zone: the machine's local zone, as the user's own clock shows times.
    assert signal_rows["max_demand_time"].endswith(" JST")
    assert len(signal_rows["max_demand_time"]) <= unit_column  # the columns still align
    # Addresses: every data set, as the meter labelled it.
    start = lines.index(next(line for line in lines if line.startswith("address")))
    addresses = {line.split()[0]: line.split()[1:] for line in lines[start + 1 :]}
    assert addresses["1.8.0*24"][1] == "kWh"
    assert addresses["C.1.0"] == ["12345678"]
    assert addresses["0.2.0"] == ["SIM-1.0"]


async def test_iec62056_device_address_picks_one_of_two_meters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulator(*FAST_62056, "--meter", "1001:111", "--meter", "1002:222") as url:
        serials = []
        for address in ("1002", "1001"):
            status = await cli.run(
                [*QUICK_READ, "--url", url, "--device-address", address, "--json"]
            )
            document = json.loads(capsys.readouterr().out)
            assert status == 0
            serials.append(document["identity"]["serial"])
            assert document["obis"]["0.0.0"]["value"] == address
        assert serials == ["222", "111"]
        # An address no meter on the line has: silence, with a hint.
        status = await cli.run(
            [*QUICK_READ, "--url", url, "--device-address", "1003", "--timeout", "0.3",
             "--retries", "0"]
        )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 1
    assert "no identification" in err
    assert "[1003]" in err
    assert "hint: " in err


async def test_iec62056_mode_a(capsys: pytest.CaptureFixture[str]) -> None:
    async with simulator(*FAST_62056, "--mode", "A") as url:
        status = await cli.run(
            ["read", "--protocol", "iec62056", "--url", url, "--mode", "A", "--json"]
        )
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert document["identity"]["serial"] == "12345678"
    assert "1.8.0" in document["obis"]


async def test_iec62056_silent_meter_exits_1_with_a_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulator(*FAST_62056, "--silent-every", "1") as url:
        status = await cli.run([*QUICK_READ, "--url", url, "--timeout", "0.3", "--retries", "1"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert "error: " in captured.err
    assert "no identification from the meter within" in captured.err
    assert f"hint: {NoResponse.hint}" in captured.err


async def test_iec62056_damaged_answers_every_time_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulator(*FAST_62056, "--corrupt-every", "1") as url:
        status = await cli.run([*QUICK_READ, "--url", url, "--retries", "2", "--json"])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert "arrived damaged 3 times" in captured.err
    assert "hint: " in captured.err


async def test_iec62056_damaged_once_is_asked_again_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulator(*FAST_62056, "--corrupt-every", "2") as url:
        status = await cli.run([*QUICK_READ, "--url", url, "--retries", "2", "--json"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["identity"]["serial"] == "12345678"


async def test_iec62056_silence_hint_names_its_own_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulator(*FAST_62056, "--silent-every", "1") as url:
        await cli.run([*QUICK_READ, "--url", url, "--timeout", "0.3", "--retries", "0"])
    hint = capsys.readouterr().err.partition("hint: ")[2]
    assert "device address" in hint


async def test_iec62056_damaged_hint_names_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    async with simulator(*FAST_62056, "--corrupt-every", "1") as url:
        await cli.run([*QUICK_READ, "--url", url, "--retries", "0"])
    hint = capsys.readouterr().err.partition("hint: ")[2]
    assert "parity" in hint


# --- arguments, help, entry point ----------------------------------------------------------


def test_help_lists_both_protocols_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(["read", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--protocol {iec102,iec62056}" in out
    for option in (
        "--link-address", "--point-address", "--password", "--time-zone",  # IEC 102
        "--device-address", "--mode", "--max-baudrate", "--t2-ms", "--wake-up",  # 62056
        "--baudrate", "--parity", "--json",
    ):  # fmt: skip
        assert option in out, option
    assert "IEC 60870-5-102" in out
    assert "IEC 62056-21 meter" in out


def test_protocol_defaults_to_iec102() -> None:
    args = cli.build_parser().parse_args(["read", "--url", "/dev/ttyUSB0"])
    assert args.protocol == "iec102"


def test_a_setting_two_protocols_share_is_one_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """Options are named after settings: a second protocol's password reuses --password."""

    class Shared:
        title = "Shared"
        meter_fields = (
            SettingField("password", FieldKind.SECRET),
            SettingField("fast", FieldKind.BOOLEAN, False),
        )

    drivers: Mapping[str, Any] = {**DRIVERS, "shared": Shared()}
    monkeypatch.setattr(cli, "DRIVERS", drivers)
    parser = cli.build_parser()
    args = parser.parse_args(["read", "--protocol", "shared", "--url", "x", "--password", "3"])
    assert (args.password, args.fast) == (3, None)
    assert parser.parse_args(["read", "--url", "x", "--fast"]).fast is True


def test_main_returns_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    loop = asyncio.get_event_loop()  # the test's own loop: asyncio.run() unsets it
    try:
        assert cli.main(["read", "--url", "/dev/does-not-exist"]) == 1
    finally:
        asyncio.set_event_loop(loop)
    assert "does-not-exist" in capsys.readouterr().err


async def test_a_meter_without_data_exits_1_naming_the_content_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with simulator("iec102", "--tcp", "127.0.0.1:0", "--no-data") as url:
        started = asyncio.get_running_loop().time()
        status = await cli.run(
            ["read", "--url", url, "--content-timeout", "0.5", "--timeout", "0.3"]
        )
        took = asyncio.get_running_loop().time() - started
    err = capsys.readouterr().err
    assert status == 1
    assert "the meter answers but had no data" in err
    assert "within 0.5 s" in err
    assert "wiring" not in err
    assert took < 5


# --- the meter's time zone -----------------------------------------------------------------


def test_time_zone_help_names_each_protocols_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["read", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "IEC 60870-5-102 (REE) Europe/Madrid" in out
    assert "IEC 62056-21 this machine's local zone" in out


async def test_iec102_keeps_madrid_whatever_the_machine_zone(
    simulator_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spanish utility meters keep Spain's legal time: the machine's zone is not theirs."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    status = await cli.run(["read", "--url", simulator_url, "--password", "7", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    for stamp in (document["clock"], document["timestamp"]):
        assert datetime.fromisoformat(stamp).utcoffset() in (timedelta(hours=1), timedelta(hours=2))


async def test_iec62056_reads_in_the_zone_of_the_command_s_environment() -> None:
    """A real process with TZ set: the meter's time stamps carry that zone's offset."""
    async with simulator(*FAST_62056, "--time-zone", "Asia/Tokyo") as url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "custom_components.iec_meter", *QUICK_READ,
            "--url", url, "--json",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**ENV, "TZ": "Asia/Tokyo"},
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    document = json.loads(out)
    stamp = datetime.fromisoformat(document["timestamp"])
    assert stamp.utcoffset() == timedelta(hours=9)
    # The meter's wall time taken in its own zone: the instant is now.
    assert abs((stamp - datetime.now(stamp.tzinfo)).total_seconds()) < 120


def _zone_file(name: str) -> Path:
    """The compiled rules of zone ``name`` (the tzdata package's copy, on every machine)."""
    import tzdata  # noqa: PLC0415 - a test dependency only

    return Path(tzdata.__file__).parent / "zoneinfo" / name


def test_local_zone_is_the_zone_localtime_links_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TZ", raising=False)
    link = tmp_path / "localtime"
    link.symlink_to(_zone_file("Asia/Tokyo"))
    monkeypatch.setattr(cli, "LOCALTIME", str(link))
    assert cli.local_zone() == ZoneInfo("Asia/Tokyo")
    assert cli.zone_name(cli.local_zone()) == "Asia/Tokyo"


def test_local_zone_of_a_copied_zone_file_keeps_its_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TZ", raising=False)
    copy = tmp_path / "localtime"
    copy.write_bytes(_zone_file("Europe/Madrid").read_bytes())
    monkeypatch.setattr(cli, "LOCALTIME", str(copy))
    zone = cli.local_zone()
    assert datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("tz", ["CET-1CEST,M3.5.0,M10.5.0/3", "Mars/Olympus"])
def test_local_zone_without_a_zone_name_is_the_present_offset(
    tz: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TZ rule or an unknown name: the C library's offset (what ``date`` shows)."""
    monkeypatch.setenv("TZ", tz)
    zone = cli.local_zone()
    assert zone.utcoffset(None) == datetime.now().astimezone().utcoffset()


def test_local_zone_of_an_unreadable_localtime_is_the_present_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TZ", raising=False)
    broken = tmp_path / "localtime"
    broken.write_bytes(b"not a zone file")
    monkeypatch.setattr(cli, "LOCALTIME", str(broken))
    assert cli.local_zone().utcoffset(None) == datetime.now().astimezone().utcoffset()
    monkeypatch.setattr(cli, "LOCALTIME", str(tmp_path / "missing"))
    assert cli.local_zone().utcoffset(None) == datetime.now().astimezone().utcoffset()


# --- the plausibility guard ------------------------------------------------------------------

#: A readout with one impossible voltage (L1, 2000 V) and a negative register (A-).
IMPLAUSIBLE_LINES = """
C.1.0(12345678)
1.8.0(012345.678*kWh)
2.8.0(-000005.000*kWh)
1.7.0(01.500*kW)
32.7.0(2000.0*V)
52.7.0(230.5*V)
"""


#: What the read says on stderr of each value it leaves out.
WITHHELD_NOTES = {
    "active_energy_export": "note: active_energy_export left out as implausible: -5 kWh is "
    "negative or not a number, and so was it when read again",
    "voltage_l1": "note: voltage_l1 left out as implausible: 2000 V is outside 0 to 1000 V, "
    "and so was it when read again (--max-voltage-v raises the bound)",
}


@pytest.mark.parametrize(
    ("limits", "withheld"),
    [
        ((), ["active_energy_export", "voltage_l1"]),
        # A raised bound lets the voltage through; a register has no bound to raise.
        (("--max-voltage-v", "3000"), ["active_energy_export"]),
    ],
    ids=["default bounds", "raised voltage bound"],
)
async def test_an_impossible_value_is_withheld_with_a_note(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    limits: tuple[str, ...],
    withheld: list[str],
) -> None:
    """Implausible in the read and its re-read: left out, listed, and said on stderr."""
    data = tmp_path / "readout.txt"
    data.write_text(IMPLAUSIBLE_LINES, encoding="ascii")
    async with simulator(*FAST_62056, "--data-file", str(data)) as url:
        status = await cli.run([*QUICK_READ, "--url", url, *limits, "--json"])
        captured = capsys.readouterr()
        assert await cli.run([*QUICK_READ, "--url", url, *limits]) == 0
        table = capsys.readouterr()
    assert status == 0
    document = json.loads(captured.out)
    assert document["withheld"] == withheld
    for key in withheld:
        assert key not in document
    assert document.get("voltage_l1") == (None if "voltage_l1" in withheld else 2000.0)
    assert document["voltage_l2"] == 230.5
    assert document["active_energy_import"] == 12345.678
    # The read-out itself stays as the meter sent it.
    assert document["obis"]["32.7.0"] == {"value": 2000.0, "unit": "V"}
    assert captured.err.splitlines() == [WITHHELD_NOTES[key] for key in withheld]
    rows = {line.split()[0]: line.split()[1:] for line in table.out.splitlines() if line.strip()}
    assert rows["active_energy_export"] == ["withheld", "kWh"]
    shown = "withheld" if "voltage_l1" in withheld else "2000"
    assert rows["voltage_l1"] == [shown, "V"]
    assert rows["voltage_l2"] == ["230.5", "V"]
    assert table.err == captured.err


async def test_a_frequency_outside_the_grid_bands_names_the_bands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """45 Hz is within 40 to 70 Hz but no grid's: the note names the guard's own bands."""
    data = tmp_path / "readout.txt"
    data.write_text("C.1.0(12345678)\n1.8.0(012345.678*kWh)\n14.7.0(45.00*Hz)\n", "ascii")
    async with simulator(*FAST_62056, "--data-file", str(data)) as url:
        assert await cli.run([*QUICK_READ, "--url", url, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["withheld"] == ["frequency"]
    ranges = Limits().frequency_ranges()
    accepted = " or ".join(f"{low:g} to {high:g}" for low, high in ranges)
    assert accepted == "47 to 53 or 57 to 63"
    assert captured.err.splitlines() == [
        f"note: frequency left out as implausible: 45 Hz is outside {accepted} Hz, and so was "
        "it when read again"
    ]


async def test_a_bad_limit_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.run(["read", "--url", "/dev/null", "--max-power-kw", "0"]) == 1
    assert "max_power_kw must be a positive number" in capsys.readouterr().err


@contextlib.asynccontextmanager
async def in_process_62056() -> AsyncIterator[tuple[str, Iec62056Line]]:
    """A simulated IEC 62056-21 line in this process (to count and change its readouts)."""
    line = build_line(build_parser().parse_args(["iec62056", "--tcp", "127.0.0.1:0", "--no-pace"]))
    url = await line.start_tcp()
    try:
        yield url, line
    finally:
        await line.stop()


async def test_a_plausible_read_is_read_once(capsys: pytest.CaptureFixture[str]) -> None:
    """One read has no baseline: registers are not held back for a confirming re-read."""
    async with in_process_62056() as (url, line):
        assert await cli.run([*QUICK_READ, "--url", url, "--json"]) == 0
        assert line.meters[0].readouts == 1
    document = json.loads(capsys.readouterr().out)
    assert document["withheld"] == []
    assert isinstance(document["active_energy_import"], float)


async def test_a_value_wrong_once_is_read_again_and_the_good_one_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Line noise that passes the checksum: the re-read's plausible value is printed."""
    async with in_process_62056() as (url, line):
        readout_changed(line.meters[0], replaced_value("32.7.0", "9999.9"))
        assert await cli.run([*QUICK_READ, "--url", url, "--json"]) == 0
        assert line.meters[0].readouts == 2
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["withheld"] == []
    assert 200 < document["voltage_l1"] < 260
    assert captured.err == ""


async def test_a_failed_re_read_withholds_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """The meter goes silent after a doubtful read: the other values are still shown."""
    async with in_process_62056() as (url, line):

        def silent_from_now(text: str) -> str:
            line.bus.silent_every = 1  # the re-read's sign-on gets no answer
            return replaced_value("32.7.0", "9999.9")(text)

        readout_changed(line.meters[0], silent_from_now)
        status = await cli.run(
            [*QUICK_READ, "--url", url, "--timeout", "0.3", "--retries", "0", "--json"]
        )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    document = json.loads(captured.out)
    assert "voltage_l1" in document["withheld"]
    assert "voltage_l1" not in document
    assert document["identity"]["serial"] == "12345678"
    assert (
        "note: voltage_l1 left out as implausible: 9999.9 V is outside 0 to 1000 V, and "
        "reading it once more failed (--max-voltage-v raises the bound)"
    ) in captured.err.splitlines()


# --- the IEC 62056-21 readout cap ------------------------------------------------------------


async def test_max_readout_bytes_caps_the_data_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "readout.txt"
    data.write_text(
        "".join(f"1.8.0*{month}(0{month:02}345.678*kWh)\n" for month in range(1, 40)),
        encoding="ascii",
    )  # about 1000 bytes
    # Paced at 9600 baud from the sign-on, the message comes in pieces as on a serial line.
    paced = ("iec62056", "--tcp", "127.0.0.1:0", "--initial-baud", "9600")
    read = [*QUICK_READ, "--baudrate", "9600", "--retries", "0"]
    async with simulator(*paced, "--data-file", str(data)) as url:
        assert await cli.run([*read, "--url", url, "--max-readout-bytes", "1024"]) == 0
        assert "1.8.0*39" in capsys.readouterr().out
        # Last: the meter goes on sending what the command no longer reads.
        capped = await cli.run([*read, "--url", url, "--max-readout-bytes", "512"])
    err = capsys.readouterr().err
    assert capped == 1
    assert "data message longer than 512 bytes" in err
    assert "hint: The meter's readout is longer than the cap: raise --max-readout-bytes" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--protocol", "iec62056", "--max-readout-bytes", "100"], "out of range (256-262144)"),
        (["--max-readout-bytes", "4096"], "--max-readout-bytes applies to --protocol iec62056"),
    ],
)
async def test_a_bad_readout_cap_exits_1(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli.run(["read", "--url", "/dev/null", *argv]) == 1
    assert message in capsys.readouterr().err


def test_help_lists_the_readout_cap_and_the_limits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["read", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--max-readout-bytes MAX_READOUT_BYTES largest data message accepted" in out
    assert "default 32768" in out
    for option in ("--max-power-kw", "--max-voltage-v", "--max-current-a"):
        assert option in out
