"""The plausibility guard's rules, alone (a hand-moved clock) and on a real simulator."""

from __future__ import annotations

from datetime import datetime
import math
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.errors import NoResponse
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.model import SIGNALS, Reading, Value
from custom_components.iec_meter.core.plausibility import (
    CONFIRMATION_READS,
    MAX_POWER_KW,
    MAX_VOLTAGE_V,
    REPLACEMENT_READS,
    Limits,
    PlausibilityGuard,
    Reason,
    limits_from,
)
from custom_components.iec_meter.core.transport import LineSettings
from tests.conftest import FAST, MADRID, make_line, serving
from tests.wrong_values import spike_once

ENERGY = "active_energy_import"
#: Seconds between two polls and between a read and its re-read, in these tests.
POLL_S = 30.0
REREAD_S = 0.5
#: The default limits allow this much more in one poll (1 MW for 30 s, plus one kWh).
POLL_RISE = Limits().register_rise(POLL_S)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard_with_clock(limits: Limits | None = None) -> tuple[PlausibilityGuard, Clock]:
    clock = Clock()
    return PlausibilityGuard(limits or Limits(), clock), clock


def poll(guard: PlausibilityGuard, clock: Clock, first: Reading, again: Reading | None) -> Reading:
    """One poll: ``first``, then ``again`` if the guard asks for a re-read."""
    clock.now += POLL_S
    screening = guard.examine(first)
    if not screening.reread:
        return guard.conclude(screening, None)
    clock.now += REREAD_S
    return guard.conclude(screening, again)


def energy(value: float, **more: Value) -> Reading:
    return Reading({ENERGY: value, **more})


def confirmed(start: float = 12_345.0) -> tuple[PlausibilityGuard, Clock]:
    """A guard whose register has a live baseline at ``start``."""
    guard, clock = guard_with_clock()
    assert poll(guard, clock, energy(start), energy(start)).values == {ENERGY: start}
    return guard, clock


# --- properties -----------------------------------------------------------------------

#: How much a true register rises from one poll to the next (kWh; 1 MW allows 8.3).
rises = st.floats(0.0, 8.0, allow_nan=False)


@st.composite
def true_series(draw: st.DrawFn) -> list[float]:
    start = draw(st.floats(0.0, 1e8, allow_nan=False))
    steps = draw(st.lists(rises, min_size=2, max_size=30))
    series = [start]
    for step in steps:
        series.append(series[-1] + step)
    return series


@given(
    true_series(),
    st.data(),
    # Detectable: above what a poll allows (9.3 kWh), or below the last true value.
    st.one_of(st.floats(20.0, 1e12), st.floats(-1e12, -8.001)),
)
def test_one_wrong_register_never_gets_through(
    series: list[float], data: st.DataObject, error: float
) -> None:
    """One read anywhere carries a spike or a step back: only true values are published."""
    guard, clock = guard_with_clock()
    wrong_at = data.draw(st.integers(0, len(series) - 1))
    published: list[float] = []
    for index, truth in enumerate(series):
        first = truth + error if index == wrong_at else truth
        reading = poll(guard, clock, energy(max(first, -1.0)), energy(truth))
        if ENERGY in reading.values:
            value = reading.values[ENERGY]
            assert value == truth
            assert isinstance(value, float)
            published.append(value)
    assert published == sorted(published)
    assert published[-1] == series[-1]  # the last true value always gets through


@given(st.lists(st.tuples(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9)), max_size=40))
@settings(max_examples=300)
def test_published_registers_only_fall_or_jump_after_a_confirmed_replacement(
    reads: list[tuple[float, float]],
) -> None:
    """Whatever the meter sends, a published register never moves backwards or too fast,
    except as a replacement that agreeing reads confirmed."""
    guard, clock = guard_with_clock()
    last: tuple[float, float] | None = None
    for first, again in reads:
        replaced = guard.baselines_replaced
        reading = poll(guard, clock, energy(first), energy(again))
        value = reading.values.get(ENERGY)
        if value is None:
            continue
        assert isinstance(value, float)
        assert value >= 0
        if last is not None:
            allowed = Limits().register_rise(clock.now - last[1])
            if not last[0] <= value <= last[0] + allowed:
                assert guard.baselines_replaced == replaced + 1
        last = (value, clock.now)


@given(
    st.sampled_from(sorted(key for key, s in SIGNALS.items() if s.state_class == "measurement")),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_a_published_measurement_is_within_its_bounds(key: str, first: float, again: float) -> None:
    guard, clock = guard_with_clock()
    bounds = Limits().bounds(SIGNALS[key])
    assert bounds is not None
    low, high = bounds
    value = poll(guard, clock, Reading({key: first}), Reading({key: again})).values.get(key)
    if value is not None:
        assert isinstance(value, float)
        assert low <= value <= high
        assert value == (first if low <= first <= high else again)
    else:
        assert not low <= first <= high
        assert not low <= again <= high
        assert guard.withheld == {key}


@given(st.floats(0.0, 1e12), st.floats(0.001, 1e7), rises)
def test_a_restored_baseline_the_meter_contradicts_is_replaced(
    restored: float, truth: float, rise: float
) -> None:
    """(A zero after a positive register is never trusted: see the zero test.)"""
    guard, clock = guard_with_clock()
    assert guard.restore(ENERGY, restored, age_s=60.0)
    reading = poll(guard, clock, energy(truth), energy(truth + rise / 100))
    assert reading.values[ENERGY] in (truth, truth + rise / 100)
    assert guard.baseline(ENERGY) == reading.values[ENERGY]


# --- the rules, one by one ------------------------------------------------------------


def test_a_first_reading_needs_a_second_that_agrees() -> None:
    guard, clock = guard_with_clock()
    screening = guard.examine(energy(100.0, voltage_l1=230.0))
    assert screening.doubtful == {ENERGY: Reason.UNCONFIRMED}
    assert screening.reread
    clock.now += REREAD_S
    reading = guard.conclude(screening, energy(101.0, voltage_l1=231.0))
    # The register from the re-read (it agrees); the rest from the first read.
    assert reading.values == {ENERGY: 101.0, "voltage_l1": 230.0}
    assert not guard.rejections  # waiting for a confirmation is no rejection
    assert guard.rereads == 1
    assert guard.reads == CONFIRMATION_READS


def test_a_single_read_guard_takes_a_register_from_one_read() -> None:
    """``single_read`` (the ``read`` command): no second read to confirm a register."""
    guard = PlausibilityGuard(Limits(), Clock(), single_read=True)
    screening = guard.examine(energy(100.0, voltage_l1=230.0))
    assert screening.doubtful == {}
    assert not screening.reread
    assert guard.conclude(screening, None).values == {ENERGY: 100.0, "voltage_l1": 230.0}
    # Every other rule is the core's: out of range in both reads, left out and named.
    screening = guard.examine(energy(-5.0, voltage_l1=2000.0))
    assert screening.reread
    reading = guard.conclude(screening, energy(-5.0, voltage_l1=1500.0))
    assert reading.values == {}
    assert guard.withheld == {ENERGY, "voltage_l1"}
    assert guard.last_rejections["voltage_l1"].value == 1500.0  # the re-read's
    assert guard.last_rejections[ENERGY].reason is Reason.OUT_OF_RANGE


def test_a_single_read_guard_reads_a_damaged_read_again() -> None:
    guard = PlausibilityGuard(Limits(), Clock(), single_read=True)
    screening = guard.examine(energy(100.0, voltage_l1=9999.9))
    assert screening.damaged
    reading = guard.conclude(screening, energy(100.0, voltage_l1=230.0))
    assert reading.values == {ENERGY: 100.0, "voltage_l1": 230.0}
    assert guard.withheld == frozenset()


def test_two_reads_that_disagree_publish_no_register() -> None:
    guard, clock = guard_with_clock()
    assert ENERGY not in poll(guard, clock, energy(1e9), energy(100.0)).values
    assert guard.recent[-1].reason is Reason.INCONSISTENT
    assert guard.recent[-1].reference == 1e9
    # The next poll agrees with the re-read: trusted.
    assert poll(guard, clock, energy(100.5), energy(0.0)).values == {ENERGY: 100.5}
    assert guard.baselines_replaced == 0


def test_a_spike_is_read_again_and_the_correct_value_published() -> None:
    guard, clock = confirmed(12_345.0)
    reading = poll(guard, clock, energy(12_345.0 + 2**24), energy(12_346.0))
    assert reading.values == {ENERGY: 12_346.0}
    assert guard.rejections == {ENERGY: 1}
    assert guard.recent[-1].reason is Reason.TOO_FAST
    assert not guard.withheld


def test_a_register_rises_by_the_maximum_power_in_the_time_since() -> None:
    guard, clock = confirmed(1000.0)
    # 30 s at 1 MW is 8.3 kWh, plus one kWh of slack.
    assert poll(guard, clock, energy(1000.0 + POLL_RISE), energy(0.0)).values[ENERGY] == (
        1000.0 + POLL_RISE
    )
    big = Limits(max_power_kw=10_000.0)
    guard, clock = guard_with_clock(big)
    poll(guard, clock, energy(1000.0), energy(1000.0))
    assert poll(guard, clock, energy(1080.0), energy(0.0)).values == {ENERGY: 1080.0}
    guard, clock = confirmed(1000.0)
    assert ENERGY not in poll(guard, clock, energy(1080.0), energy(1080.0)).values


def test_a_meter_exchanged_is_accepted_after_agreeing_reads_over_two_polls() -> None:
    guard, clock = confirmed(50_000.0)
    reads = 0
    for value in (10.0, 10.0, 11.0):
        reading = poll(guard, clock, energy(value), energy(value))
        reads += 2 if guard.rereads else 1
        if ENERGY in reading.values:
            break
    assert reading.values == {ENERGY: 11.0}
    assert guard.baselines_replaced == 1
    # Two polls with their re-read, then the third without one (withheld already).
    assert guard.reads - CONFIRMATION_READS == REPLACEMENT_READS


def test_a_zero_never_replaces_a_positive_register() -> None:
    guard, clock = confirmed(500.0)
    for _ in range(REPLACEMENT_READS + 2):
        assert ENERGY not in poll(guard, clock, energy(0.0), energy(0.0)).values
    assert guard.baseline(ENERGY) == 500.0
    # A new meter that has counted is accepted (the zeros agree with it).
    assert poll(guard, clock, energy(0.5), energy(0.5)).values == {ENERGY: 0.5}
    # Without a baseline, a register that really is zero (no export) is trusted.
    guard, clock = guard_with_clock()
    assert poll(guard, clock, energy(0.0), energy(0.0)).values == {ENERGY: 0.0}


def test_an_impossible_register_is_out_of_range() -> None:
    guard, clock = confirmed(500.0)
    for value in (-1.0, math.nan, math.inf):
        reading = poll(guard, clock, energy(value), energy(value))
        assert ENERGY not in reading.values
        assert guard.recent[-1].reason is Reason.OUT_OF_RANGE


def test_no_reread_for_a_signal_withheld_last_time() -> None:
    guard, clock = guard_with_clock()
    stuck = Reading({"frequency": 99.0, "voltage_l1": 230.0})
    assert poll(guard, clock, stuck, stuck).values == {"voltage_l1": 230.0}
    assert guard.rereads == 1
    assert poll(guard, clock, stuck, stuck).values == {"voltage_l1": 230.0}
    assert guard.rereads == 1  # the meter keeps saying it: no second read this time
    assert guard.withheld_counts == {"frequency": 2}
    # Another signal going wrong is worth a re-read again.
    worse = Reading({"frequency": 99.0, "voltage_l1": 2300.0})
    assert poll(guard, clock, worse, stuck).values == {"voltage_l1": 230.0}
    assert guard.rereads == 2


def test_values_not_judged_pass_unchanged() -> None:
    guard, clock = guard_with_clock()
    when = datetime(2026, 6, 21, 13, 0, tzinfo=MADRID)
    reading = Reading({"max_demand_time": when, "voltage_l2": None, "other": 1e99}, when)
    assert poll(guard, clock, reading, reading) == reading
    # A signal without bounds (a time) passes even if a driver sent it as a number.
    assert Limits().bounds(SIGNALS["max_demand_time"]) is None
    odd = Reading({"max_demand_time": -5.0})
    assert poll(guard, clock, odd, odd) == odd
    assert guard.rereads == 0


async def test_a_failed_reread_keeps_the_plausible_values() -> None:
    guard, _ = guard_with_clock()

    async def silent() -> Reading:
        raise NoResponse("no answer to the re-read")

    reading = await guard.screen(Reading({ENERGY: 5.0, "voltage_l1": 230.0}), silent)
    assert reading.values == {"voltage_l1": 230.0}
    assert guard.withheld == {ENERGY}
    assert guard.failed_rereads == 1
    assert guard.rereads == 0


def test_a_signal_left_out_of_the_reread_is_withheld() -> None:
    guard, clock = guard_with_clock()
    assert poll(guard, clock, energy(100.0), Reading({})).values == {}
    assert guard.withheld == {ENERGY}


@pytest.mark.parametrize(
    ("key", "inside", "outside"),
    [
        ("voltage_l1", 999.0, 1000.5),
        ("current_l1", 9999.0, -0.1),
        ("frequency", 47.0, 53.1),
        ("power_factor", -1.0, 1.001),
        ("active_power", -1000.0, 1000.1),
        ("reactive_power_l3", 1000.0, -1000.1),
        ("max_demand", 999.0, 1001.0),
    ],
)
def test_bounds_of_each_measurement(key: str, inside: float, outside: float) -> None:
    guard, clock = guard_with_clock()
    assert poll(guard, clock, Reading({key: inside}), Reading({})).values == {key: inside}
    assert poll(guard, clock, Reading({key: outside}), Reading({})).values == {}
    assert guard.rejections == {key: 1}


def test_restore_takes_only_a_register_before_the_first_read() -> None:
    guard, clock = guard_with_clock()
    assert not guard.restore("voltage_l1", 230.0, 10.0)
    assert not guard.restore("unknown", 1.0, 10.0)
    assert not guard.restore(ENERGY, -5.0, 10.0)
    assert not guard.restore(ENERGY, math.nan, 10.0)
    assert guard.restore(ENERGY, 100.0, 3600.0)
    assert not guard.restore(ENERGY, 200.0, 10.0)  # one baseline only
    # An hour old: 1000 kWh more is still possible, so it is accepted at once.
    assert poll(guard, clock, energy(1099.0), energy(0.0)).values == {ENERGY: 1099.0}
    assert guard.rereads == 0
    assert not guard.restore(ENERGY, 5.0, 0.0)  # the meter has been read: it knows better
    guard, clock = guard_with_clock()
    poll(guard, clock, energy(10.0), Reading({}))
    assert not guard.restore(ENERGY, 5.0, 0.0)  # a first read is waiting for its second


def test_limits_are_checked_and_read_from_settings() -> None:
    assert limits_from({}) == Limits()
    assert limits_from({MAX_POWER_KW: "5000", MAX_VOLTAGE_V: 30_000}) == Limits(
        max_power_kw=5000.0, max_voltage_v=30_000.0
    )
    with pytest.raises(ValueError, match="max_power_kw must be a number"):
        limits_from({MAX_POWER_KW: "lots"})
    with pytest.raises(ValueError, match="max_current_a must be a positive"):
        Limits(max_current_a=0)
    with pytest.raises(ValueError, match="frequency range"):
        Limits(min_frequency_hz=70, max_frequency_hz=40)
    with pytest.raises(ValueError, match="register_slack"):
        Limits(register_slack=-1)


def test_diagnostics_tell_limits_counters_and_baselines() -> None:
    guard, clock = confirmed(100.0)
    poll(guard, clock, energy(1e9, frequency=80.0), energy(1e9, frequency=80.0))
    diagnostics: dict[str, Any] = guard.diagnostics()
    assert diagnostics["limits"]["max_power_kw"] == 1000.0
    assert diagnostics["limits"]["frequency_hz"] == [40.0, 70.0]
    assert diagnostics["rejections"] == {ENERGY: 2, "frequency": 2}
    assert diagnostics["withheld"] == {ENERGY: 1, "frequency": 1}
    assert diagnostics["recent_rejections"][0] == {
        "signal": ENERGY,
        "value": 1e9,
        "reason": "too_fast",
        "reference": 100.0,
    }
    assert diagnostics["baselines"] == {ENERGY: {"value": 100.0, "restored": False}}
    assert diagnostics["rereads"] == 2
    assert diagnostics["reads"] == 4
    assert diagnostics["baselines_replaced"] == 0


# --- on a real simulator --------------------------------------------------------------


async def test_the_client_reads_again_in_a_turn_of_its_own() -> None:
    line = make_line()
    async with serving(line) as url:
        bus = Bus(LineSettings(url, connect_timeout=2.0), FAST)
        client = Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)
        client.guard = PlausibilityGuard()
        try:
            first = await client.read_values()  # confirmed by a second read
            assert client.guard.reads == 2
            truth = first.values[ENERGY]
            assert isinstance(truth, float)
            meter = line.meters[0]
            calls = spike_once(meter.model, kwh=2**20, decivolts=20_000)
            turns = bus.turns
            reading = await client.read_values()
            assert bus.turns == turns + 2  # the read and its re-read
            assert len(calls) == 2
            assert reading.values[ENERGY] == truth  # the re-read's true value
            voltage = reading.values["voltage_l1"]
            assert isinstance(voltage, float) and 200 < voltage < 260
            # The rest of L1 was plausible alone, not beside a 2 kV voltage: the whole
            # read was damaged, and the re-read (right) is published; only the culprits
            # count as rejections.
            assert [(item.signal, item.reason) for item in client.guard.recent] == [
                (ENERGY, Reason.TOO_FAST),
                ("voltage_l1", Reason.OUT_OF_RANGE),
            ]
            assert client.guard.rejections == {ENERGY: 1, "voltage_l1": 1}
            assert client.guard.withheld == frozenset()
            snapshot = await client.read_snapshot(identity=False, clock=False)
            assert snapshot.reading.values[ENERGY] == truth
        finally:
            await client.close()
            await bus.close()


# --- jumps, relations, damaged reads ----------------------------------------------------


def amps(value: float, **more: Value) -> Reading:
    return Reading({"current_l1": value, **more})


def test_a_load_switched_on_is_published_in_the_same_poll() -> None:
    """The rule: a true change reaches the reading at most one poll late."""
    guard, clock = guard_with_clock()
    assert poll(guard, clock, amps(3.0), None).values == {"current_l1": 3.0}
    assert poll(guard, clock, amps(3.2), None).values == {"current_l1": 3.2}  # no re-read
    assert guard.rereads == 0
    # 3 A to 30 A: too far to publish on one read's word; the re-read says it too.
    assert poll(guard, clock, amps(30.0), amps(29.6)).values == {"current_l1": 29.6}
    assert guard.rereads == 1
    assert guard.recent[-1].reason is Reason.JUMP
    assert poll(guard, clock, amps(30.4), None).values == {"current_l1": 30.4}


async def test_a_jump_whose_reread_fails_is_published_one_poll_later() -> None:
    guard, clock = guard_with_clock()
    assert poll(guard, clock, amps(3.0), None).values == {"current_l1": 3.0}

    async def silent() -> Reading:
        raise NoResponse("no answer to the re-read")

    assert (await guard.screen(amps(30.0), silent)).values == {}
    assert poll(guard, clock, amps(29.5), None).values == {"current_l1": 29.5}
    assert guard.rereads == 0


def test_a_jump_the_reread_does_not_repeat_is_never_published() -> None:
    guard, clock = guard_with_clock()
    poll(guard, clock, amps(3.0, voltage_l1=230.0, frequency=50.0), None)
    wrong = amps(208.0, voltage_l1=230.0, frequency=50.0)
    right = amps(3.1, voltage_l1=230.2, frequency=50.0)
    assert poll(guard, clock, wrong, right).values == right.values
    # Nor is a later value close to the wrong one taken as its confirmation.
    assert poll(guard, clock, amps(3.0), None).values == {"current_l1": 3.0}


@pytest.mark.parametrize(
    ("key", "good", "wrong"),
    [
        ("voltage_l1", 230.0, 217.2),  # bit 7 of decivolts
        ("frequency", 50.0, 50.64),
        ("power_factor_l1", 0.967, 0.711),
        ("active_power", 1.0, 3.5),
    ],
)
def test_a_jump_of_each_kind_waits_for_its_confirmation(
    key: str, good: float, wrong: float
) -> None:
    guard, clock = guard_with_clock()
    poll(guard, clock, Reading({key: good}), None)
    assert poll(guard, clock, Reading({key: wrong}), Reading({key: good})).values == {key: good}
    assert poll(guard, clock, Reading({key: wrong}), Reading({key: wrong})).values == {key: wrong}


def test_a_frequency_far_from_50_and_60_hz_is_out_of_range() -> None:
    guard, clock = guard_with_clock()
    assert poll(guard, clock, Reading({"frequency": 55.1}), Reading({})).values == {}
    assert poll(guard, clock, Reading({"frequency": 59.9}), None).values == {"frequency": 59.9}
    with pytest.raises(ValueError, match="frequency_band_hz"):
        Limits(frequency_band_hz=0)
    with pytest.raises(ValueError, match="tolerance"):
        Limits(tolerance=1.0)


def test_the_frequency_ranges_are_the_grids_bands_within_the_bounds() -> None:
    """What a message names is what the guard checks (one source, no drift)."""
    limits = Limits()
    band = limits.frequency_band_hz
    assert limits.frequency_ranges() == ((50 - band, 50 + band), (60 - band, 60 + band))
    assert limits.accepted(SIGNALS["frequency"]) == limits.frequency_ranges()
    assert limits.accepted(SIGNALS["voltage_l1"]) == ((0.0, limits.max_voltage_v),)
    assert limits.accepted(SIGNALS[ENERGY]) is None
    narrow = Limits(min_frequency_hz=49.0, max_frequency_hz=55.0)
    assert narrow.frequency_ranges() == ((49.0, 53.0),)  # the 60 Hz band is outside
    for hertz, inside in ((46.9, False), (47.0, True), (53.1, False), (63.0, True)):
        assert limits.near_nominal(hertz) is inside


#: One phase that fits: 230 V x 16.4 A x 0.967 = 3.65 kW.
PHASE = {"voltage_l1": 230.0, "current_l1": 16.4, "power_factor_l1": 0.967}


def test_values_that_do_not_fit_each_other_are_read_again() -> None:
    guard, clock = guard_with_clock()
    first = Reading({**PHASE, "active_power_l1": 36.5})  # within bounds, not beside V x I
    again = Reading({**PHASE, "active_power_l1": 3.6})
    assert poll(guard, clock, first, again).values == again.values
    assert guard.rereads == 1
    assert guard.rejections == {}  # which of them was wrong, no one can tell


def test_a_damaged_read_is_taken_whole_from_the_reread() -> None:
    """Two hits that cancel in a checksum: one is caught, the other (+1 kWh) goes too."""
    guard, clock = confirmed(12_345.0)
    poll(guard, clock, energy(12_345.0, voltage_l1=230.0), None)
    first = energy(12_346.0, voltage_l1=2300.0)  # one unit more is within the slack
    again = energy(12_345.0, voltage_l1=230.1)
    assert poll(guard, clock, first, again).values == again.values
    assert guard.baseline(ENERGY) == 12_345.0
    # Both reads damaged: nothing of them is published, the baseline stays.
    both = energy(12_346.0, voltage_l1=2300.0), energy(12_347.0, voltage_l1=23.0)
    assert poll(guard, clock, *both).values == {}
    assert guard.baseline(ENERGY) == 12_345.0
    assert guard.withheld == {ENERGY, "voltage_l1"}
    assert {item.signal: item.reason for item in guard.recent}[ENERGY] is Reason.DAMAGED


def test_a_relation_the_meter_always_breaks_is_dropped() -> None:
    """Noise does not repeat: a relation broken by a read and its re-read is the meter's."""
    guard, clock = guard_with_clock()
    odd = Reading({**PHASE, "active_power_l1": 1.0})  # harmonics, or another definition
    assert poll(guard, clock, odd, odd).values == odd.values
    assert guard.relations_off == {"factor_l1"}
    assert poll(guard, clock, odd, None).values == odd.values
    assert guard.rereads == 1


def test_a_value_stuck_out_of_range_does_not_damage_every_read() -> None:
    guard, clock = guard_with_clock()
    stuck = Reading({**PHASE, "frequency": 0.0})
    assert poll(guard, clock, stuck, stuck).values == PHASE
    assert poll(guard, clock, stuck, None).values == PHASE
    assert guard.rereads == 1


def test_a_value_that_keeps_jumping_leaves_the_others_published() -> None:
    guard, clock = guard_with_clock()
    poll(guard, clock, amps(3.0, voltage_l1=230.0), None)
    for index in range(4):
        first = amps(30.0 if index % 2 == 0 else 3.0, voltage_l1=230.0 + index / 10)
        again = amps(3.0 if index % 2 == 0 else 30.0, voltage_l1=230.0 + index / 10)
        assert poll(guard, clock, first, again).values["voltage_l1"] == 230.0 + index / 10
