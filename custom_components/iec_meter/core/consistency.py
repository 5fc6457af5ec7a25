"""Cross-checks between the signals of one reading: values sent together must fit.

Two damaged bytes that cancel out in a checksum change two values at once. Each may still
be within its physical bounds (208 A instead of 3 A), but volts, amps and watts of one
moment rarely still fit each other. Every relation is checked only where the reading
holds all its signals, with the slack of the digits the values carry (an IEC 102 power
in whole kW is anything within half a kW of it) plus ``tolerance`` of the larger side:

* ``apparent``: per phase, the power the meter reports is not more than volts times
  amps: ``hypot(P, Q) <= V x I`` (harmonics make ``V x I`` larger, never smaller).
* ``factor``: per phase, ``|P| = |PF| x V x I`` (the power factor is P over S).
* ``sum``: the total active and reactive power are the sums of the phases', and a
  total energy register the sum of its tariffs' (where two or more are sent). Values of
  one kind share their digits: the finest last digit among them sets the slack of all
  (an IEC 62056-21 register ``0007407.000`` arrives as 7407.0, which alone would look
  like a whole kWh).

Nothing here knows a protocol: the guard (:mod:`.plausibility`) asks which relations
fail, and treats a failure as a sign of a damaged read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Final

from .model import Value

PHASES: Final = ("_l1", "_l2", "_l3")
TARIFFS: Final = (1, 2, 3, 4)
_MAX_DECIMALS = 6
_WATTS_PER_KW = 1000.0


@dataclass(frozen=True, slots=True)
class Span:
    """A value with the uncertainty of its last digit: ``low <= true <= high``."""

    low: float
    high: float

    @classmethod
    def of(cls, value: float) -> Span:
        """``value`` plus or minus half its last digit."""
        half = half_step(value)
        return cls(value - half, value + half)

    def magnitude(self) -> Span:
        """The span of ``|value|``."""
        if self.low >= 0:
            return self
        if self.high <= 0:
            return Span(-self.high, -self.low)
        return Span(0.0, max(-self.low, self.high))

    def __add__(self, other: Span) -> Span:
        return Span(self.low + other.low, self.high + other.high)

    def __mul__(self, other: Span) -> Span:
        """Product of two spans of values that are not negative."""
        return Span(max(self.low, 0) * max(other.low, 0), self.high * other.high)

    def widened(self, share: float, absolute: float = 0.0) -> Span:
        """The span grown by ``share`` of its largest magnitude (and ``absolute``)."""
        grow = share * max(abs(self.low), abs(self.high)) + absolute
        return Span(self.low - grow, self.high + grow)

    def meets(self, other: Span) -> bool:
        """Whether the two spans share a value."""
        return self.low <= other.high and other.low <= self.high


def half_step(value: float) -> float:
    """Half the last digit ``value`` carries (0.5 for 3.0, 0.005 for 3.25)."""
    for decimals in range(_MAX_DECIMALS + 1):
        scaled = value * 10**decimals
        if abs(scaled - round(scaled)) <= 1e-6 * max(1.0, abs(scaled)):
            return 0.5 * 10.0**-decimals
    return 0.5 * 10.0**-_MAX_DECIMALS


def _number(values: Mapping[str, Value], key: str) -> float | None:
    value = values.get(key)
    return float(value) if isinstance(value, int | float) else None


def failing_relations(
    values: Mapping[str, Value], tolerance: float, skip: frozenset[str] = frozenset()
) -> dict[str, frozenset[str]]:
    """The relations ``values`` break (name: the signals involved), ``skip`` left out."""
    failing: dict[str, frozenset[str]] = {}
    for phase in PHASES:
        failing.update(_phase_relations(values, phase, tolerance))
    for kind in ("active_power", "reactive_power"):
        keys = (kind, *(f"{kind}{phase}" for phase in PHASES))
        if not _sums(values, keys, tolerance):
            failing[f"sum_{kind}"] = frozenset(keys)
    for kind in ("active_energy_import", "active_energy_export"):
        keys = (kind, *(f"{kind}_t{tariff}" for tariff in TARIFFS if f"{kind}_t{tariff}" in values))
        if len(keys) > 2 and not _sums(values, keys, 0.0):
            failing[f"tariffs_{kind}"] = frozenset(keys)
    return {name: keys for name, keys in failing.items() if name not in skip}


def _phase_relations(
    values: Mapping[str, Value], phase: str, tolerance: float
) -> dict[str, frozenset[str]]:
    """``apparent`` and ``factor`` of one phase, where its values are there."""
    volts = _number(values, f"voltage{phase}")
    amps = _number(values, f"current{phase}")
    active = _number(values, f"active_power{phase}")
    if volts is None or amps is None or active is None:
        return {}
    product = Span.of(volts) * Span.of(amps)
    apparent = Span(product.low / _WATTS_PER_KW, product.high / _WATTS_PER_KW)
    base = {f"voltage{phase}", f"current{phase}", f"active_power{phase}"}
    failing: dict[str, frozenset[str]] = {}
    real = Span.of(active).magnitude()
    reported, keys = real, set(base)
    reactive = _number(values, f"reactive_power{phase}")
    if reactive is not None:
        keys.add(f"reactive_power{phase}")
        blind = Span.of(reactive).magnitude()
        reported = Span(math.hypot(real.low, blind.low), math.hypot(real.high, blind.high))
    if reported.low > apparent.widened(tolerance).high:
        failing[f"apparent{phase}"] = frozenset(keys)
    factor = _number(values, f"power_factor{phase}")
    if factor is not None:
        expected = Span.of(factor).magnitude() * apparent
        if not real.meets(expected.widened(tolerance)):
            failing[f"factor{phase}"] = frozenset({*base, f"power_factor{phase}"})
    return failing


def _sums(values: Mapping[str, Value], keys: tuple[str, ...], tolerance: float) -> bool:
    """Whether ``keys[0]`` is the sum of the others (True when one of them is missing).

    Values of one kind share their digits: the finest last digit sets the slack of all.
    """
    numbers = [_number(values, key) for key in keys]
    present = [number for number in numbers if number is not None]
    if len(present) < len(keys):
        return True
    total, *parts = present
    half = min(half_step(number) for number in present)
    slack = half * len(present) + tolerance * sum(abs(part) for part in parts)
    return abs(total - sum(parts)) <= slack
