"""What a meter tells, whatever the protocol: signals, readings, identity.

A reading maps signal ids to values. :data:`SIGNALS` is the one table that says what
each signal is (unit, device class, state class, precision, enabled by default); the
``read`` command and the Home Assistant sensors both take it from here, so a signal is
described once. Device and state classes are spelled as Home Assistant spells them,
as plain strings, so the core needs no Home Assistant import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final


class Unit(StrEnum):
    """Units of the signals."""

    KWH = "kWh"
    KVARH = "kvarh"
    KW = "kW"
    KVAR = "kvar"
    AMPERE = "A"
    VOLT = "V"
    HERTZ = "Hz"


class DeviceClass(StrEnum):
    """What a signal measures (Home Assistant's sensor device classes)."""

    ENERGY = "energy"
    REACTIVE_ENERGY = "reactive_energy"
    POWER = "power"
    REACTIVE_POWER = "reactive_power"
    POWER_FACTOR = "power_factor"
    CURRENT = "current"
    VOLTAGE = "voltage"
    FREQUENCY = "frequency"
    TIMESTAMP = "timestamp"


class StateClass(StrEnum):
    """How Home Assistant keeps statistics of a signal."""

    MEASUREMENT = "measurement"
    TOTAL_INCREASING = "total_increasing"


@dataclass(frozen=True, slots=True)
class Signal:
    """One quantity a meter can report."""

    key: str
    unit: Unit | None
    device_class: DeviceClass
    state_class: StateClass | None
    precision: int | None
    enabled: bool = True
    #: 2 or 3 for a value that only a three-phase meter has.
    phase: int | None = None

    @property
    def is_register(self) -> bool:
        """An energy register that only ever grows (fed to the Energy dashboard)."""
        return self.state_class is StateClass.TOTAL_INCREASING


def _phase(key: str) -> int | None:
    for phase in (2, 3):
        if key.endswith(f"_l{phase}"):
            return phase
    return None


def _register(key: str, enabled: bool = True) -> Signal:
    reactive = key.startswith("reactive")
    return Signal(
        key,
        Unit.KVARH if reactive else Unit.KWH,
        DeviceClass.REACTIVE_ENERGY if reactive else DeviceClass.ENERGY,
        StateClass.TOTAL_INCREASING,
        0,
        enabled,
    )


def _measurement(
    key: str, unit: Unit | None, device_class: DeviceClass, precision: int, enabled: bool
) -> Signal:
    return Signal(key, unit, device_class, StateClass.MEASUREMENT, precision, enabled, _phase(key))


_PHASES = ("_l1", "_l2", "_l3")
_TARIFFS = (1, 2, 3, 4)

_TABLE: tuple[Signal, ...] = (
    _register("active_energy_import"),
    _register("active_energy_export"),
    *(_register(f"reactive_energy_q{quadrant}", enabled=False) for quadrant in (1, 2, 3, 4)),
    *(_register(f"active_energy_import_t{tariff}", enabled=False) for tariff in _TARIFFS),
    *(_register(f"active_energy_export_t{tariff}", enabled=False) for tariff in _TARIFFS),
    _measurement("active_power", Unit.KW, DeviceClass.POWER, 2, True),
    *(_measurement(f"active_power{p}", Unit.KW, DeviceClass.POWER, 2, False) for p in _PHASES),
    *(
        _measurement(f"reactive_power{s}", Unit.KVAR, DeviceClass.REACTIVE_POWER, 2, False)
        for s in ("", *_PHASES)
    ),
    _measurement("power_factor", None, DeviceClass.POWER_FACTOR, 2, True),
    *(_measurement(f"power_factor{p}", None, DeviceClass.POWER_FACTOR, 2, False) for p in _PHASES),
    *(_measurement(f"current{p}", Unit.AMPERE, DeviceClass.CURRENT, 1, True) for p in _PHASES),
    *(_measurement(f"voltage{p}", Unit.VOLT, DeviceClass.VOLTAGE, 1, True) for p in _PHASES),
    _measurement("frequency", Unit.HERTZ, DeviceClass.FREQUENCY, 2, True),
    _measurement("max_demand", Unit.KW, DeviceClass.POWER, 2, True),
    Signal("max_demand_time", None, DeviceClass.TIMESTAMP, None, None, True),
)

#: Every signal any driver can deliver, by key. Keys are a contract (entity unique ids,
#: the ``read`` command's JSON): never rename one.
SIGNALS: Final[Mapping[str, Signal]] = {signal.key: signal for signal in _TABLE}

type Value = float | datetime | None


@dataclass(frozen=True, slots=True)
class DataValue:
    """A value exactly as the meter labelled it (e.g. an IEC 62056-21 data set)."""

    value: float | str
    unit: str | None = None
    #: Digits after the decimal mark as the meter wrote a number (None: text). Not part
    #: of the value: 1.50 and 1.5 are the same reading, only shown differently.
    decimals: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Reading:
    """One read of a meter's current values.

    ``values`` holds the signals the meter delivered: ``None`` where it flagged the value
    invalid. A signal the meter did not send at all is absent, which is not the same.
    ``data`` holds every addressed value as the meter sent it, keyed by its address,
    for protocols that label their values (IEC 62056-21 OBIS codes).
    Active power is negative while exporting; reactive power is negative in Q3/Q4.
    ``timestamp`` is the meter's own time tag of the values, if it gives one.
    """

    values: Mapping[str, Value] = field(default_factory=dict)
    timestamp: datetime | None = None
    data: Mapping[str, DataValue] = field(default_factory=dict)

    def get(self, key: str) -> Value:
        """A signal's value; None when invalid or not delivered."""
        return self.values.get(key)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the meter says it is, as text (every protocol spells it differently)."""

    #: The manufacturer as the meter codes it (a number, a FLAG id): kept as sent.
    manufacturer: str
    serial: str
    model: str | None = None
    firmware: str | None = None
    #: The protocol's own identity fields, as the ``read`` command prints them.
    fields: Mapping[str, str | int] = field(default_factory=dict)
    #: The manufacturer's name where the protocol's own table knows the code (None:
    #: unknown, never the bare code). Derived from ``manufacturer``, so not compared.
    manufacturer_name: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read of a meter produced: values, and identity and clock when read."""

    reading: Reading
    identity: Identity | None = None
    #: The meter's clock at its last read, and its drift against ours in seconds.
    clock: datetime | None = None
    clock_drift: float | None = None
