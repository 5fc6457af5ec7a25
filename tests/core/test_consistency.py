"""Cross-checks between the values of one reading: true readings pass, damaged do not."""

from __future__ import annotations

import math

from hypothesis import given, strategies as st
import pytest

from custom_components.iec_meter.core.consistency import Span, failing_relations, half_step
from custom_components.iec_meter.core.model import Value

TOLERANCE = 0.1


def phase(
    volts: float, amps: float, factor: float, decimals: int, exporting: bool
) -> dict[str, float]:
    """One phase as a meter sends it: powers rounded to ``decimals`` (kW, kvar)."""
    apparent = volts * amps / 1000
    active = apparent * factor
    reactive = math.sqrt(max(apparent**2 - active**2, 0.0))
    sign = -1 if exporting else 1
    return {
        "voltage": round(volts, 1),
        "current": round(amps, 1 if decimals == 0 else 2),
        "power_factor": round(factor, 3),
        "active_power": round(sign * active, decimals),
        "reactive_power": round(reactive, decimals),
    }


def reading_of(phases: list[dict[str, float]], decimals: int) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for number, one in enumerate(phases, start=1):
        values.update({f"{key}_l{number}": value for key, value in one.items()})
    # The meter sums what it measured, then rounds (not the rounded phases).
    values["active_power"] = round(
        sum(float(v) for k, v in values.items() if k.startswith("active_power_")), decimals
    )
    values["reactive_power"] = round(
        sum(float(v) for k, v in values.items() if k.startswith("reactive_power_")), decimals
    )
    return values


phases = st.tuples(
    st.floats(180.0, 260.0), st.floats(0.0, 80.0), st.floats(0.05, 1.0), st.booleans()
)


@given(st.lists(phases, min_size=3, max_size=3), st.sampled_from([0, 3]))
def test_a_true_reading_breaks_no_relation(
    drawn: list[tuple[float, float, float, bool]], decimals: int
) -> None:
    """Whole kW (IEC 102) or three decimals (IEC 62056-21): no false alarm."""
    values = reading_of([phase(v, i, pf, decimals, export) for v, i, pf, export in drawn], decimals)
    assert failing_relations(values, TOLERANCE) == {}


TRUE: dict[str, Value] = {
    "voltage_l1": 230.0,
    "current_l1": 16.4,
    "active_power_l1": -3.652,
    "reactive_power_l1": -0.94,
    "power_factor_l1": 0.967,
    "voltage_l2": 231.2,
    "current_l2": 1.1,
    "active_power_l2": 0.246,
    "reactive_power_l2": 0.063,
    "power_factor_l2": 0.967,
    "voltage_l3": 229.6,
    "current_l3": 0.8,
    "active_power_l3": 0.178,
    "reactive_power_l3": 0.046,
    "power_factor_l3": 0.967,
    "active_power": -3.228,
    "reactive_power": -0.831,
    "active_energy_import": 12345.0,
    "active_energy_import_t1": 7407.0,
    "active_energy_import_t2": 4938.0,
}


@pytest.mark.parametrize(
    ("key", "wrong", "relations"),
    [
        ("current_l2", 20.8, {"factor_l2"}),  # 208 A in tenths gone wrong: P does not follow
        ("current_l1", 1.4, {"apparent_l1", "factor_l1"}),  # less than P needs
        ("active_power_l3", 1.178, {"apparent_l3", "factor_l3", "sum_active_power"}),
        ("reactive_power_l2", 2.063, {"apparent_l2", "sum_reactive_power"}),
        ("power_factor_l1", 0.711, {"factor_l1"}),
        ("voltage_l1", 125.0, {"apparent_l1", "factor_l1"}),
        ("active_power", -1.228, {"sum_active_power"}),
        ("active_energy_import_t1", 7407.5, {"tariffs_active_energy_import"}),
    ],
)
def test_a_wrong_value_breaks_its_relations(key: str, wrong: float, relations: set[str]) -> None:
    assert failing_relations(TRUE, TOLERANCE) == {}
    failing = failing_relations({**TRUE, key: wrong}, TOLERANCE)
    assert set(failing) == relations
    assert all(key in keys for keys in failing.values())
    # A relation left out is not checked.
    assert set(failing_relations({**TRUE, key: wrong}, TOLERANCE, frozenset(relations))) == set()


def test_a_relation_needs_all_its_values() -> None:
    partial = {k: v for k, v in TRUE.items() if k not in {"current_l1", "active_power_l2"}}
    assert failing_relations({**partial, "power_factor_l1": 0.1}, TOLERANCE) == {}
    assert (
        failing_relations({"active_energy_import": 5.0, "active_energy_import_t1": 9.0}, TOLERANCE)
        == {}
    )
    assert failing_relations({**TRUE, "voltage_l1": None}, TOLERANCE).keys() <= {"sum_active_power"}


def test_the_last_digit_sets_the_slack() -> None:
    assert half_step(3.0) == 0.5
    assert half_step(3.25) == pytest.approx(0.005)
    assert half_step(-0.1) == pytest.approx(0.05)
    assert half_step(1 / 3) == pytest.approx(5e-7)
    assert Span.of(2.0) == Span(1.5, 2.5)
    assert Span(-2.0, 1.0).magnitude() == Span(0.0, 2.0)
    assert Span(-2.0, -1.0).magnitude() == Span(1.0, 2.0)
    assert Span(1.0, 2.0).meets(Span(2.0, 3.0))
    assert not Span(1.0, 2.0).meets(Span(2.1, 3.0))
