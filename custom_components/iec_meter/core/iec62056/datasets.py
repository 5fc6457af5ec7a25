"""The data sets of a readout: ``address(value*unit)`` lines, parsed leniently.

Rules (what real meters send, in our words):

* A line holds one or more data sets; a data set is an address followed by one or more
  ``(value)`` or ``(value*unit)`` groups, e.g. ``1.6.0(1.234*kW)(2301011200)``.
* A group with no address in front, e.g. a line ``(2301011200)``, continues the data set
  before it (it becomes one more value of that address); with no data set before, the
  line is skipped.
* ``,`` is accepted as the decimal separator.
* A line that does not parse completely is skipped and counted; the rest of the readout
  is still used. Empty lines and the closing ``!`` are not data.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Final

from .constants import END_LINE

#: Characters an address may not contain (the rest of printable ASCII is accepted:
#: meters write ``1.8.0``, ``1-0:1.8.0*24``, ``C.1.0``, ``F.F``, ``0.9.1&01``).
_ADDRESS_FORBIDDEN: Final = frozenset("()/!\\")
MAX_ADDRESS_LENGTH: Final = 64
MAX_VALUE_LENGTH: Final = 128
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_DECIMAL_MARKS: Final = (".", ",")


@dataclass(frozen=True, slots=True)
class RawValue:
    """One ``(value*unit)`` group as the meter wrote it."""

    text: str
    unit: str | None = None

    def encode(self) -> str:
        """The group as a meter writes it."""
        return f"({self.text}*{self.unit})" if self.unit is not None else f"({self.text})"


@dataclass(frozen=True, slots=True)
class DataSet:
    """An address and the values the meter gave for it (at least one)."""

    address: str
    values: tuple[RawValue, ...]

    @property
    def value(self) -> RawValue:
        """The first (main) value."""
        return self.values[0]

    def encode(self) -> str:
        """The data set as one line of a readout."""
        return self.address + "".join(value.encode() for value in self.values)


@dataclass(frozen=True, slots=True)
class ParsedBlock:
    """What a data block held: the data sets in order, and how many lines were skipped."""

    data_sets: tuple[DataSet, ...]
    skipped: int = 0


def parse_number(text: str) -> float | None:
    """A decimal number (``,`` or ``.`` as separator), or None if ``text`` is not one."""
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        return None
    return float(stripped.replace(",", "."))


def has_decimal_mark(text: str) -> bool:
    """True if the value is written with a decimal separator."""
    return any(mark in text for mark in _DECIMAL_MARKS)


class _BadLine(Exception):
    """A line that does not parse (internal: the line is skipped)."""


def _groups(line: str, start: int) -> tuple[list[RawValue], int]:
    """The ``(...)`` groups starting at ``start``; returns them and the index after."""
    values: list[RawValue] = []
    index = start
    while index < len(line) and line[index] == "(":
        end = line.find(")", index + 1)
        if end < 0:
            raise _BadLine("unclosed '('")
        inner = line[index + 1 : end]
        if "(" in inner or len(inner) > MAX_VALUE_LENGTH or not inner.isprintable():
            raise _BadLine("bad value")
        text, star, unit = inner.partition("*")
        values.append(RawValue(text, unit if star else None))
        index = end + 1
    return values, index


def _check_address(address: str) -> str:
    if (
        not address
        or len(address) > MAX_ADDRESS_LENGTH
        or not address.isascii()
        or not address.isprintable()
        or " " in address
        or _ADDRESS_FORBIDDEN & set(address)
    ):
        raise _BadLine(f"bad address {address[:MAX_ADDRESS_LENGTH]!r}")
    return address


def _parse_line(line: str, previous: DataSet | None) -> list[DataSet]:
    """Data sets of one line; a leading bare group extends ``previous`` (returned first)."""
    result: list[DataSet] = []
    index = 0
    if line.startswith("("):
        if previous is None:
            raise _BadLine("value without an address")
        values, index = _groups(line, 0)
        result.append(DataSet(previous.address, previous.values + tuple(values)))
    while index < len(line):
        opening = line.find("(", index)
        if opening < 0:
            raise _BadLine("address without a value")
        address = _check_address(line[index:opening])
        values, index = _groups(line, opening)
        result.append(DataSet(address, tuple(values)))
    return result


def parse_data_block(text: str) -> ParsedBlock:
    """Every data set of a data block's text (lines separated by CR LF or LF)."""
    data_sets: list[DataSet] = []
    skipped = 0
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line == END_LINE:
            continue
        previous = data_sets[-1] if data_sets else None
        try:
            parsed = _parse_line(line, previous)
        except _BadLine:
            skipped += 1
            continue
        if line.startswith("(") and previous is not None:
            data_sets[-1] = parsed.pop(0)
        data_sets.extend(parsed)
    return ParsedBlock(tuple(data_sets), skipped)


def split_address(address: str) -> tuple[str, str | None]:
    """``("1-0:1.8.0", "24")`` for ``1-0:1.8.0*24`` (or ``&24``); the suffix is history."""
    for mark in ("*", "&"):
        base, found, suffix = address.partition(mark)
        if found:
            return base, suffix
    return address, None
