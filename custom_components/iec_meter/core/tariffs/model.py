"""The words of a Spanish access tariff: tariffs, electrical zones, periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Tariff(StrEnum):
    """Access tariffs of Circular CNMC 3/2020 (peajes), as the bill names them."""

    TD_2_0 = "2.0TD"
    TD_3_0 = "3.0TD"
    TD_6_1 = "6.1TD"
    TD_6_2 = "6.2TD"
    TD_6_3 = "6.3TD"
    TD_6_4 = "6.4TD"

    @property
    def energy_periods(self) -> int:
        """2.0TD has three energy periods; every other tariff six."""
        return 3 if self is Tariff.TD_2_0 else 6

    @property
    def power_periods(self) -> int:
        """2.0TD has two power periods; every other tariff six."""
        return 2 if self is Tariff.TD_2_0 else 6


class Zone(StrEnum):
    """The five electrical zones, each with its own calendar."""

    PENINSULA = "peninsula"
    BALEARES = "baleares"
    CANARIAS = "canarias"
    CEUTA = "ceuta"
    MELILLA = "melilla"


class Period(StrEnum):
    """A tariff period; P1 is always the dearest."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"
    P6 = "P6"

    @classmethod
    def of(cls, number: int) -> Period:
        """The period with this number (1 to 6)."""
        return cls(f"P{number}")

    @property
    def number(self) -> int:
        """1 for P1, 6 for P6."""
        return int(self.value[1])


@dataclass(frozen=True, slots=True)
class TariffHour:
    """One hour (or quarter) of a calendar: its start and the periods it falls in."""

    start: datetime
    energy_period: Period
    power_period: Period
