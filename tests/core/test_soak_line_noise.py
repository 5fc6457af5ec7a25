"""The soak's line-noise mode: the bit-flip bridge, the truth check, a short run."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

from custom_components.iec_meter.core.model import Reading

ROOT = Path(__file__).resolve().parents[2]


def load_soak() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    soak = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = soak  # dataclasses look their module up
    spec.loader.exec_module(soak)
    return soak


def test_the_bridge_flips_one_bit_in_the_share_of_bytes() -> None:
    soak = load_soak()
    data = bytes(range(256)) * 4
    every = soak.BitFlipBridge("socket://127.0.0.1:9", 1.0, seed=3)
    damaged = every.damage(data)
    assert all(bin(a ^ b).count("1") == 1 for a, b in zip(data, damaged, strict=True))
    assert every.bits_flipped == every.bytes_from_meter == len(data)
    none = soak.BitFlipBridge("socket://127.0.0.1:9", 0.0, seed=3)
    assert none.damage(data) == data
    some = soak.BitFlipBridge("socket://127.0.0.1:9", 0.01, seed=3)
    again = soak.BitFlipBridge("socket://127.0.0.1:9", 0.01, seed=3)
    assert some.damage(data) == again.damage(data)  # seeded: a run repeats
    assert 0 < some.bits_flipped < 40


def test_a_value_is_wrong_when_no_sample_of_the_meter_had_it() -> None:
    soak = load_soak()
    samples = [{"voltage_l1": 230.1, "active_energy_import": 100.0}, {"voltage_l1": 230.3}]
    reading = Reading(
        {"voltage_l1": 230.3, "active_energy_import": 101.0, "voltage_l2": None, "x": 1.0}
    )
    assert soak._wrong(reading, samples) == ["active_energy_import 101.0 (meter: 100.0, None)"]


async def test_a_short_noisy_run_publishes_no_wrong_register() -> None:
    soak = load_soak()
    result = await soak.noise_soak(120, 0.003, seed=1)
    assert result.bits_flipped > 0
    assert result.successes > 100
    assert result.wrong_registers_accepted == 0
    assert result.tasks_left == 0
    report = result.report()
    assert f"wrong values accepted: {result.wrong_accepted} (goal 0)" in report
    assert "tasks left 0 (goal 0)" in report
