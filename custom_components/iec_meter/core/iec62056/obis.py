"""OBIS addresses of a readout mapped onto our signals.

Only current values map: an address with a billing-period suffix (``1.8.0*24``,
``1.8.0&03``) is history and only kept as labelled data. The medium prefix (``1-0:``) is
optional. Values in W, Wh, var or varh become kW, kWh, kvar, kvarh. Import and export
powers (1.7.0 / 2.7.0 and their per-phase pairs) make one signed power, negative while
exporting; when the meter sends only one of a pair it is used with its sign.

Data values keep the meter's text where it is not a quantity: a value without a unit
and without a decimal separator (serial numbers, status words like ``F.F(00000000)``,
dates) stays text unless its address is one of the quantities below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
import math
from typing import Final

from ..model import DataValue, Value
from .constants import SERIAL_ADDRESSES
from .datasets import DataSet, has_decimal_mark, parse_number, split_address

#: Register (energy) addresses and their signals.
REGISTERS: Final[Mapping[str, str]] = {
    "1.8.0": "active_energy_import",
    "2.8.0": "active_energy_export",
    "5.8.0": "reactive_energy_q1",
    "6.8.0": "reactive_energy_q2",
    "7.8.0": "reactive_energy_q3",
    "8.8.0": "reactive_energy_q4",
    **{f"1.8.{tariff}": f"active_energy_import_t{tariff}" for tariff in range(1, 5)},
    **{f"2.8.{tariff}": f"active_energy_export_t{tariff}" for tariff in range(1, 5)},
}
#: Signed powers: signal -> (import address, export address).
SIGNED_POWERS: Final[Mapping[str, tuple[str, str]]] = {
    "active_power": ("1.7.0", "2.7.0"),
    "active_power_l1": ("21.7.0", "22.7.0"),
    "active_power_l2": ("41.7.0", "42.7.0"),
    "active_power_l3": ("61.7.0", "62.7.0"),
    "reactive_power": ("3.7.0", "4.7.0"),
}
#: Instantaneous quantities taken as they are.
MEASUREMENTS: Final[Mapping[str, str]] = {
    "31.7.0": "current_l1",
    "51.7.0": "current_l2",
    "71.7.0": "current_l3",
    "32.7.0": "voltage_l1",
    "52.7.0": "voltage_l2",
    "72.7.0": "voltage_l3",
    "13.7.0": "power_factor",
    "33.7.0": "power_factor_l1",
    "53.7.0": "power_factor_l2",
    "73.7.0": "power_factor_l3",
    "14.7.0": "frequency",
}
#: Maximum demand: value (kW) and the time stamp given as its second value.
MAX_DEMAND: Final = "1.6.0"
MAX_DEMAND_SIGNAL: Final = "max_demand"
MAX_DEMAND_TIME_SIGNAL: Final = "max_demand_time"
#: Meter date (YYMMDD) and time (hhmmss), used as the reading's time stamp.
DATE_ADDRESS: Final = "0.9.2"
TIME_ADDRESS: Final = "0.9.1"

#: Every OBIS code (C.D.E) that feeds a signal.
STANDARD_CODES: Final = frozenset(
    (
        *REGISTERS,
        *MEASUREMENTS,
        MAX_DEMAND,
        *(code for pair in SIGNED_POWERS.values() for code in pair),
    )
)
#: Every signal this module can deliver.
SIGNAL_KEYS: Final = frozenset(
    (
        *REGISTERS.values(),
        *SIGNED_POWERS,
        *MEASUREMENTS.values(),
        MAX_DEMAND_SIGNAL,
        MAX_DEMAND_TIME_SIGNAL,
    )
)

#: Unit (lowercase) -> factor to our unit (k-units, V, A, Hz).
_SCALE: Final[Mapping[str, float]] = {
    "w": 0.001,
    "wh": 0.001,
    "var": 0.001,
    "varh": 0.001,
    "kw": 1.0,
    "kwh": 1.0,
    "kvar": 1.0,
    "kvarh": 1.0,
    "mw": 1000.0,
    "mwh": 1000.0,
    "mvar": 1000.0,
    "mvarh": 1000.0,
}
_STAMP_LENGTHS: Final = (10, 12)  # YYMMDDhhmm[ss]
_CENTURY: Final = 2000
_DIFFERENCE_DIGITS: Final = 9
#: Second value of a data set (e.g. the max demand time stamp) in ``Reading.data``.
EXTRA_VALUE_SEPARATOR: Final = "_"


def current_code(address: str) -> str | None:
    """The C.D.E code of a current-value address (``1-0:1.8.0`` -> ``1.8.0``), else None."""
    base, history = split_address(address)
    if history is not None:
        return None
    _, _, code = base.rpartition(":")
    return code


def _scaled(number: float, unit: str | None) -> float:
    if unit is None:
        return number
    return number * _SCALE.get(unit.strip().lower(), 1.0)


def parse_stamp(text: str, tz: tzinfo) -> datetime | None:
    """``YYMMDDhhmm`` (or with seconds) in the meter's zone; None if it is not one."""
    digits = text.strip()
    if len(digits) not in _STAMP_LENGTHS or not digits.isdigit():
        return None
    year, month, day, hour, minute, *seconds = (
        int(digits[index : index + 2]) for index in range(0, len(digits), 2)
    )
    try:
        return datetime(
            _CENTURY + year, month, day, hour, minute, seconds[0] if seconds else 0, tzinfo=tz
        )
    except ValueError:
        return None


def _meter_time(data: Mapping[str, DataSet], tz: tzinfo) -> datetime | None:
    date, time = data.get(DATE_ADDRESS), data.get(TIME_ADDRESS)
    if date is None or time is None:
        return None
    return parse_stamp(date.value.text + time.value.text, tz)


def decimals(text: str) -> int:
    """Digits a number is written with after its decimal mark (``012345.678`` -> 3)."""
    stripped = text.strip()
    for mark in (".", ","):
        if mark in stripped:
            return len(stripped) - stripped.index(mark) - 1
    return 0


def _value(data_set: DataSet, index: int, numeric: bool) -> DataValue:
    raw = data_set.values[index]
    number = parse_number(raw.text)
    if number is not None and (numeric or raw.unit is not None or has_decimal_mark(raw.text)):
        return DataValue(number, raw.unit or None, decimals(raw.text))
    return DataValue(raw.text, raw.unit or None)


def labelled_data(data_sets: Iterable[DataSet]) -> dict[str, DataValue]:
    """Every data set by address (first occurrence wins); extra values as ``addr_2``..."""
    data: dict[str, DataValue] = {}
    for data_set in data_sets:
        if data_set.address in data:
            continue
        numeric = split_address(data_set.address)[0].rpartition(":")[2] in STANDARD_CODES
        for index in range(len(data_set.values)):
            key = data_set.address
            if index:
                key = f"{key}{EXTRA_VALUE_SEPARATOR}{index + 1}"
            data[key] = _value(data_set, index, numeric and index == 0)
    return data


def current_sets(data_sets: Iterable[DataSet]) -> dict[str, DataSet]:
    """Current-value data sets by C.D.E code (first occurrence wins)."""
    by_code: dict[str, DataSet] = {}
    for data_set in data_sets:
        code = current_code(data_set.address)
        if code is not None and code not in by_code:
            by_code[code] = data_set
    return by_code


def _quantity(data_set: DataSet | None) -> float | None:
    if data_set is None:
        return None
    number = parse_number(data_set.value.text)
    return None if number is None else _scaled(number, data_set.value.unit)


def signals(data_sets: Iterable[DataSet], tz: tzinfo) -> tuple[dict[str, Value], datetime | None]:
    """Our signals from a readout's data sets, and the meter's time stamp if it gave one."""
    by_code = current_sets(data_sets)
    values: dict[str, Value] = {}
    for code, key in (*REGISTERS.items(), *MEASUREMENTS.items()):
        if code in by_code:
            values[key] = _quantity(by_code[code])
    for key, (plus, minus) in SIGNED_POWERS.items():
        if plus not in by_code and minus not in by_code:
            continue
        imported, exported = _quantity(by_code.get(plus)), _quantity(by_code.get(minus))
        if (plus in by_code and imported is None) or (minus in by_code and exported is None):
            values[key] = None
        else:
            # Rounded so 0.2 - 0.7 reads -0.5, as the meter's own digits say.
            values[key] = round((imported or 0.0) - (exported or 0.0), _DIFFERENCE_DIGITS)
    demand = by_code.get(MAX_DEMAND)
    if demand is not None:
        values[MAX_DEMAND_SIGNAL] = _quantity(demand)
        if len(demand.values) > 1:
            values[MAX_DEMAND_TIME_SIGNAL] = parse_stamp(demand.values[1].text, tz)
    return values, _meter_time(by_code, tz)


#: The OBIS codes (C.D.E) whose values make each signal.
_CODES_OF: Final[Mapping[str, frozenset[str]]] = {
    **{key: frozenset((code,)) for code, key in (*REGISTERS.items(), *MEASUREMENTS.items())},
    **{key: frozenset(pair) for key, pair in SIGNED_POWERS.items()},
    MAX_DEMAND_SIGNAL: frozenset((MAX_DEMAND,)),
}


def signal_decimals(data: Mapping[str, DataValue], key: str) -> int | None:
    """Decimals signal ``key`` carries in our unit, as the meter wrote its data sets.

    ``1.8.0(0012345.678*kWh)`` carries 3, ``2.7.0(00123.4*W)`` 4 in kW; where two data
    sets make one signal (a signed power), the finer one. None if no data set has it.
    """
    codes = _CODES_OF.get(key, frozenset())
    found = [
        max(item.decimals - _unit_shift(item.unit), 0)
        for address, item in data.items()
        if item.decimals is not None and current_code(address) in codes
    ]
    return max(found) if found else None


def _unit_shift(unit: str | None) -> int:
    """Powers of ten from the meter's unit to ours (Wh -> kWh: -3)."""
    factor = 1.0 if unit is None else _SCALE.get(unit.strip().lower(), 1.0)
    return round(math.log10(factor))


def standard_addresses(data: Iterable[str]) -> frozenset[str]:
    """Addresses (of ``Reading.data``) whose values already feed a standard signal."""
    result = set()
    for address in data:
        base, _, extra = address.partition(EXTRA_VALUE_SEPARATOR)
        code = current_code(base)
        if code in STANDARD_CODES and (not extra or code == MAX_DEMAND):
            result.add(address)
    return frozenset(result)


def serial_number(data_sets: Iterable[DataSet]) -> tuple[str, str] | None:
    """The meter's serial number and the address it came from, if the readout has one."""
    by_code = current_sets(data_sets)
    for code in SERIAL_ADDRESSES:
        data_set = by_code.get(code)
        if data_set is not None and data_set.value.text.strip():
            return data_set.value.text.strip(), data_set.address
    return None
