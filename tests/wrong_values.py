"""Faults on the meter's side that send one wrong value: what the guard must catch.

They wrap a real simulated meter's model or readout, so the wrong value travels the real
protocol over TCP with a correct checksum, like two damaged bytes that cancel out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from custom_components.iec_meter.core.iec102.asdu import InstantValues, PhaseBlock
from simulator.iec62056_meter import SimulatedIec62056Meter
from simulator.meter_model import MeterModel


def spike_once(model: MeterModel, kwh: int = 0, decivolts: int = 0, deciamps: int = 0) -> list[int]:
    """The model's next sample carries A+ ``kwh`` and L1 off by that much; returns its calls.

    Only that one sample is wrong (an IEC 102 meter samples for every answer).
    """
    original = model.sample
    calls: list[int] = []

    def sample(when: datetime) -> InstantValues:
        values = original(when)
        calls.append(len(calls))
        if len(calls) > 1:
            return values
        assert values.energy is not None and values.phases is not None
        energy = (values.energy[0] + kwh, *values.energy[1:])
        first = values.phases[0]
        phase = PhaseBlock(first.current_deciamps + deciamps, first.voltage_decivolts + decivolts)
        return replace(values, energy=energy, phases=(phase, *values.phases[1:]))

    model.sample = sample  # type: ignore[method-assign]
    return calls


def readout_changed(
    meter: SimulatedIec62056Meter, change: Callable[[str], str], times: int = 1
) -> list[int]:
    """The meter's next ``times`` readouts have ``change`` applied to each data line."""
    original = meter.lines
    calls: list[int] = []

    def lines() -> list[str]:
        result = original()
        calls.append(len(calls))
        return [change(line) for line in result] if len(calls) <= times else result

    meter.lines = lines  # type: ignore[method-assign]
    return calls


def replaced_value(address: str, value: str) -> Callable[[str], str]:
    """A data line change: the value of ``address`` (its unit kept) becomes ``value``."""

    def change(line: str) -> str:
        if not line.startswith(f"{address}("):
            return line
        _, _, rest = line.partition("(")
        unit = rest.rstrip(")").partition("*")[2]
        return f"{address}({value}*{unit})" if unit else f"{address}({value})"

    return change
