"""The instantaneous objects of R_IN_VA_2 (192/193/194) as our signals.

An object the meter did not send leaves its signals out of the reading (the meter does
not offer them); a value it flagged invalid is ``None``.
"""

from __future__ import annotations

import math

from ..model import Value
from .asdu import InstantValues
from .constants import CURRENT_SCALE, POWER_FACTOR_SCALE, VOLTAGE_SCALE

#: Registers of object 192, in order: A+, A-, R1..R4.
ENERGY_SIGNALS = (
    "active_energy_import",
    "active_energy_export",
    "reactive_energy_q1",
    "reactive_energy_q2",
    "reactive_energy_q3",
    "reactive_energy_q4",
)
#: Blocks of object 193, in order: total, L1, L2, L3.
POWER_SUFFIXES = ("", "_l1", "_l2", "_l3")


def instant_signals(values: InstantValues) -> dict[str, Value]:
    """Map the decoded objects onto signal keys."""
    signals: dict[str, Value] = {}
    if values.energy is not None:
        for key, register in zip(ENERGY_SIGNALS, values.energy, strict=True):
            signals[key] = None if register is None else float(register)
    if values.powers is not None:
        for suffix, power in zip(POWER_SUFFIXES, values.powers, strict=True):
            signals[f"active_power{suffix}"] = power.signed_active()
            signals[f"reactive_power{suffix}"] = power.signed_reactive()
            signals[f"power_factor{suffix}"] = power.power_factor()
    if values.phases is not None:
        for number, phase in enumerate(values.phases, start=1):
            invalid = phase.invalid
            signals[f"current_l{number}"] = (
                None if invalid else phase.current_deciamps / CURRENT_SCALE
            )
            signals[f"voltage_l{number}"] = (
                None if invalid else phase.voltage_decivolts / VOLTAGE_SCALE
            )
    return signals


#: Every signal an REE meter can deliver.
IEC102_SIGNALS = frozenset(
    (
        *ENERGY_SIGNALS,
        *(
            f"{kind}{suffix}"
            for kind in ("active_power", "reactive_power", "power_factor")
            for suffix in POWER_SUFFIXES
        ),
        *(f"{kind}_l{n}" for kind in ("current", "voltage") for n in (1, 2, 3)),
    )
)

#: Decimals of each signal as object 192/193/194 carry it: registers and powers in whole
#: kWh, kW and kvar, the power factor in thousandths, currents and voltages in tenths.
IEC102_RESOLUTION = {
    **dict.fromkeys(ENERGY_SIGNALS, 0),
    **{
        f"{kind}{suffix}": 0
        for kind in ("active_power", "reactive_power")
        for suffix in POWER_SUFFIXES
    },
    **{f"power_factor{suffix}": round(math.log10(POWER_FACTOR_SCALE)) for suffix in POWER_SUFFIXES},
    **{f"current_l{n}": round(math.log10(CURRENT_SCALE)) for n in (1, 2, 3)},
    **{f"voltage_l{n}": round(math.log10(VOLTAGE_SCALE)) for n in (1, 2, 3)},
}
