"""What one read of a meter yields, independent of the protocol that produced it.

The 24 signal keys and their units are a contract used everywhere after the protocol
core (sensors, the ``read`` command's JSON, diagnostics): keep them stable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Final


class Unit(StrEnum):
    """Units of the reading's signals."""

    KWH = "kWh"
    KVARH = "kvarh"
    KW = "kW"
    KVAR = "kvar"
    AMPERE = "A"
    VOLT = "V"
    RATIO = ""


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One set of instantaneous values; ``None`` where the meter flagged a value invalid.

    Active power is negative while exporting; reactive power is negative in Q3/Q4.
    ``timestamp`` is the meter's own time tag of the values, in its time zone.
    """

    active_energy_import: float | None = None
    active_energy_export: float | None = None
    reactive_energy_q1: float | None = None
    reactive_energy_q2: float | None = None
    reactive_energy_q3: float | None = None
    reactive_energy_q4: float | None = None
    active_power: float | None = None
    active_power_l1: float | None = None
    active_power_l2: float | None = None
    active_power_l3: float | None = None
    reactive_power: float | None = None
    reactive_power_l1: float | None = None
    reactive_power_l2: float | None = None
    reactive_power_l3: float | None = None
    power_factor: float | None = None
    power_factor_l1: float | None = None
    power_factor_l2: float | None = None
    power_factor_l3: float | None = None
    current_l1: float | None = None
    current_l2: float | None = None
    current_l3: float | None = None
    voltage_l1: float | None = None
    voltage_l2: float | None = None
    voltage_l3: float | None = None
    timestamp: datetime | None = None

    def values(self) -> dict[str, float | None]:
        """The 24 signals by key (timestamp left out)."""
        data = asdict(self)
        del data["timestamp"]
        return data


SIGNAL_KEYS: Final[tuple[str, ...]] = tuple(
    field.name for field in fields(MeterReading) if field.name != "timestamp"
)


def _unit(key: str) -> Unit:
    if key.startswith("active_energy"):
        return Unit.KWH
    if key.startswith("reactive_energy"):
        return Unit.KVARH
    if key.startswith("active_power"):
        return Unit.KW
    if key.startswith("reactive_power"):
        return Unit.KVAR
    if key.startswith("current"):
        return Unit.AMPERE
    if key.startswith("voltage"):
        return Unit.VOLT
    return Unit.RATIO


SIGNAL_UNITS: Final[dict[str, Unit]] = {key: _unit(key) for key in SIGNAL_KEYS}


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who the meter says it is (P_MP_NA_2)."""

    manufacturer_code: int
    serial_number: int
    #: Month and year of the protocol standard the meter follows, e.g. (4, 2002).
    standard_month: int
    standard_year: int

    @property
    def standard_date(self) -> str:
        """The standard's date as ``MM/YYYY``."""
        return f"{self.standard_month:02d}/{self.standard_year}"
