"""The noisy line (simulator/line_noise.py) and the soak's line-noise mode, short runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import random
import sys
from types import ModuleType

import pytest

from custom_components.iec_meter.core.model import Reading
from simulator.line_noise import Direction, Noise, wrong_values

ROOT = Path(__file__).resolve().parents[2]


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    soak = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = soak  # dataclasses look their module up
    spec.loader.exec_module(soak)
    return soak


def test_the_line_flips_one_bit_in_the_share_of_bytes() -> None:
    data = bytes(range(256)) * 4
    every = Direction(Noise(1.0), random.Random(3))
    damaged = every.damage(data)
    assert all(bin(a ^ b).count("1") == 1 for a, b in zip(data, damaged, strict=True))
    assert every.flips == every.bytes_passed == len(data)
    assert Direction(Noise(0.0), random.Random(3)).damage(data) == data
    assert Direction(None, random.Random(3)).damage(data) == data
    some = Direction(Noise(0.01), random.Random(3))
    again = Direction(Noise(0.01), random.Random(3))
    assert some.damage(data) == again.damage(data)  # seeded: a run repeats
    assert 0 < some.flips < 40
    seven = Direction(Noise(1.0, bits=tuple(range(7))), random.Random(3)).damage(data)
    assert all((a ^ b) & 0x80 == 0 for a, b in zip(data, seven, strict=True))


def test_a_bit_error_rate_flips_each_bit_alone() -> None:
    data = bytes(1000)
    every = Direction(Noise(1.0, bits=(7,), each_bit=True), random.Random(1))
    assert every.damage(data) == bytes((0x80,)) * 1000
    rate = Direction(Noise(0.01, each_bit=True), random.Random(1))
    rate.damage(data)
    assert 40 < rate.flips < 130  # about 80 of 8,000 bits


def test_a_value_is_wrong_when_no_sample_of_the_meter_had_it() -> None:
    samples = [{"voltage_l1": 230.1, "active_energy_import": 100.0}, {"voltage_l1": 230.3}]
    reading = Reading(
        {"voltage_l1": 230.3, "active_energy_import": 101.0, "voltage_l2": None, "x": 1.0}
    )
    assert wrong_values(reading, samples) == ["active_energy_import 101.0 (meter: 100.0, None)"]


@pytest.mark.parametrize("protocol", ["iec102", "iec62056"])
async def test_a_short_noisy_run_publishes_no_wrong_value(protocol: str) -> None:
    soak = load_soak()
    result = await soak.noise_soak(40, 0.003, seed=1, protocol=protocol)
    assert result.bits_flipped > 0
    assert result.successes > 30
    assert result.wrong_accepted == 0, result.wrong_examples
    assert result.tasks_left == 0
    report = result.report()
    assert f"{protocol}, line noise 0.003" in report
    assert "wrong values accepted: 0 (goal 0)" in report
    assert "tasks left 0 (goal 0)" in report
