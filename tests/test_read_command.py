"""``python -m custom_components.iec_meter read`` against the simulator process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import sys

import pytest

from custom_components.iec_meter import cli
from custom_components.iec_meter.core.iec102.signals import IEC102_SIGNALS

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
    assert "hint: Check the link address, the baud rate and parity" in err


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


async def test_as_a_module_without_home_assistant(simulator_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WITHOUT_HOME_ASSISTANT, "read",
        "--url", simulator_url, "--password", "7", "--json",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert json.loads(out)["identity"]["serial_number"] == 48300001
