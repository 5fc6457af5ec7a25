"""Line noise never becomes a wrong value in Home Assistant: the guard, end to end.

Real simulators over TCP and a real Home Assistant with its recorder; the wrong values
come from the meter's side with a correct checksum (tests/wrong_values.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.iec_meter.const import DOMAIN
from custom_components.iec_meter.core.iec102.signals import ENERGY_SIGNALS
from custom_components.iec_meter.core.plausibility import MAX_POWER_KW
from custom_components.iec_meter.diagnostics import async_get_config_entry_diagnostics
from tests.wrong_values import readout_changed, replaced_value, spike_once

from .conftest import (
    Simulated,
    Simulated62056,
    added_entry,
    make_62056_entry,
    make_entry,
    meter_record,
    meter_subentry,
    setup_entry,
)

ENERGY = "sensor.house_energy_import"
METER_ID = "66-48300001"
SPIKE_KWH = 2**20


@pytest.fixture(autouse=True)
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """The recorder's database must be prepared before Home Assistant starts."""


@pytest.fixture(autouse=True)
def _quiet_sql(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")


@pytest.fixture
def states_written(hass: HomeAssistant) -> Iterator[dict[str, list[str]]]:
    """Every state written for any entity from now on, by entity id."""
    written: dict[str, list[str]] = {}

    @callback
    def remember(event: Event[EventStateChangedData]) -> None:
        state = event.data["new_state"]
        if state is not None:
            written.setdefault(state.entity_id, []).append(state.state)

    unsubscribe = hass.bus.async_listen("state_changed", remember)
    yield written
    unsubscribe()


async def poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    for coordinator in entry.runtime_data.coordinators.values():
        await coordinator.async_refresh()
    await hass.async_block_till_done()


def value(hass: HomeAssistant, entity_id: str) -> float:
    return float(hass.states.get(entity_id).state)


async def five_minute_statistics(
    hass: HomeAssistant, entity_id: str, since: datetime
) -> list[dict[str, Any]]:
    """Compile the 5-minute statistics from ``since`` to now, and read them back."""
    await async_wait_recording_done(hass)
    start = since.replace(minute=since.minute - since.minute % 5, second=0, microsecond=0)
    while start <= dt_util.utcnow():
        do_adhoc_statistics(hass, start=start)
        start += timedelta(minutes=5)
    await async_wait_recording_done(hass)
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        since - timedelta(minutes=10),
        None,
        {entity_id},
        "5minute",
        None,
        {"state", "sum"},
    )
    return list(found.get(entity_id, []))


async def test_a_spike_never_reaches_a_state_or_a_statistic(
    recorder_mock: Any,
    hass: HomeAssistant,
    simulated: Simulated,
    states_written: dict[str, list[str]],
) -> None:
    since = dt_util.utcnow()
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    model = simulated.line.meters[0].model
    good = value(hass, ENERGY)
    calls = spike_once(model, kwh=SPIKE_KWH)
    await poll(hass, entry)
    assert len(calls) == 2  # the spike, then the re-read in the same poll
    assert value(hass, ENERGY) == good
    model.energy_import_kwh += 1  # the meter counts on: the next correct value is shown
    await poll(hass, entry)
    assert value(hass, ENERGY) == good + 1
    written = [float(state) for state in states_written[ENERGY]]
    assert written and max(written) == good + 1
    assert coordinator.guard.rejections == {"active_energy_import": 1}
    assert coordinator.guard.recent[-1].value == good + SPIKE_KWH
    statistics = await five_minute_statistics(hass, ENERGY, since)
    assert statistics
    assert max(row["state"] for row in statistics) == good + 1
    assert max(row["sum"] for row in statistics) <= 1  # what the meter counted, no more


async def test_a_wrong_high_state_restored_does_not_block_later_values(
    recorder_mock: Any, hass: HomeAssistant, simulated: Simulated
) -> None:
    """A spike kept from before the restart (as the old sensor kept its maximum)."""
    entry, subentry_id = added_entry(hass, simulated.url)
    # The registry and the restore cache as a restart finds them.
    er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        f"{METER_ID}_active_energy_import",
        config_entry=entry,
        config_subentry_id=subentry_id,
        suggested_object_id="house_energy_import",
    )
    wrong = 99_999_999.0
    an_hour_ago = dt_util.utcnow() - timedelta(hours=1)
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ENERGY, str(wrong), last_updated=an_hour_ago),
                {"native_value": wrong, "native_unit_of_measurement": "kWh"},
            )
        ],
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    (coordinator,) = entry.runtime_data.coordinators.values()
    live = value(hass, ENERGY)
    assert live < 100_000  # the meter's register, not the restored one
    assert coordinator.guard.baselines_replaced == 1
    assert coordinator.guard.recent[0].reference == wrong
    simulated.line.meters[0].model.energy_import_kwh += 1
    await poll(hass, entry)
    assert value(hass, ENERGY) == live + 1


async def test_a_restored_state_checks_the_first_reading(
    recorder_mock: Any, hass: HomeAssistant, simulated: Simulated
) -> None:
    """Restored registers the meter agrees with: no confirming re-read, a spike caught."""
    probe = await setup_entry(hass, make_entry(simulated.url))
    registers = {
        key: probe.runtime_data.coordinators[next(iter(probe.subentries))].data.reading.get(key)
        for key in ENERGY_SIGNALS
    }
    registry = er.async_get(hass)
    entity_ids = {
        key: registry.async_get_entity_id("sensor", DOMAIN, f"{METER_ID}_{key}")
        for key in ENERGY_SIGNALS
    }
    assert await hass.config_entries.async_remove(probe.entry_id)
    entry, subentry_id = added_entry(hass, simulated.url)
    restored = []
    for key, entity_id in entity_ids.items():
        assert entity_id is not None
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{METER_ID}_{key}",
            config_entry=entry,
            config_subentry_id=subentry_id,
            suggested_object_id=entity_id.removeprefix("sensor."),
        )
        unit = "kWh" if key.startswith("active") else "kvarh"
        stored = {"native_value": registers[key], "native_unit_of_measurement": unit}
        restored.append((State(entity_id, str(registers[key])), stored))
    # One register restored in another unit is not taken, nor one that was unknown.
    restored[-1][1]["native_unit_of_measurement"] = "MWh"
    restored[-2][1]["native_value"] = None
    mock_restore_cache_with_extra_data(hass, restored)
    spike_once(simulated.line.meters[0].model, kwh=SPIKE_KWH)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert value(hass, ENERGY) == registers["active_energy_import"]
    assert coordinator.guard.rejections == {"active_energy_import": 1}
    assert coordinator.guard.baselines_replaced == 0
    baselines = coordinator.guard.diagnostics()["baselines"]
    assert set(baselines) == set(ENERGY_SIGNALS)


async def test_implausible_voltage_and_current_are_read_again(
    recorder_mock: Any,
    hass: HomeAssistant,
    simulated: Simulated,
    states_written: dict[str, list[str]],
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    model = simulated.line.meters[0].model
    spike_once(model, decivolts=20_000, deciamps=200_000)  # 2230 V and 20 kA more
    await poll(hass, entry)
    assert 200 < value(hass, "sensor.house_voltage_l1") < 260
    assert value(hass, "sensor.house_current_l1") < 100
    assert coordinator.guard.rejections == {"voltage_l1": 1, "current_l1": 1}
    for entity_id in ("sensor.house_voltage_l1", "sensor.house_current_l1"):
        assert max(float(state) for state in states_written[entity_id]) < 1000
    # A meter that keeps sending it: the value is left out (unknown), the rest published.
    original = model.sample

    def high_voltage(when: datetime) -> Any:
        values = original(when)
        phases = list(values.phases)
        phases[1] = type(phases[1])(phases[1].current_deciamps, 12_000)
        return type(values)(values.energy, values.powers, tuple(phases), values.timestamp)

    model.sample = high_voltage  # type: ignore[method-assign]
    await poll(hass, entry)
    assert hass.states.get("sensor.house_voltage_l2").state == STATE_UNKNOWN
    assert coordinator.last_update_success
    assert 200 < value(hass, "sensor.house_voltage_l1") < 260
    assert coordinator.withheld == {"voltage_l2"}
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    (meter,) = diagnostics["meters"].values()
    assert meter["plausibility"]["rejections"] == {
        "current_l1": 1,
        "voltage_l1": 1,
        "voltage_l2": 2,
    }
    assert meter["plausibility"]["withheld"] == {"voltage_l2": 1}
    assert meter["plausibility"]["recent_rejections"][-1] == {
        "signal": "voltage_l2",
        "value": 1200.0,
        "reason": "out_of_range",
        "reference": None,
    }


async def test_implausible_frequency_and_a_spike_of_an_iec62056_meter(
    recorder_mock: Any,
    hass: HomeAssistant,
    simulated_62056: Simulated62056,
    states_written: dict[str, list[str]],
) -> None:
    """The same guard for the other protocol: every driver's readings are screened."""
    entry = await setup_entry(hass, make_62056_entry(simulated_62056.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    meter = simulated_62056.line.meters[0]
    assert meter.readouts == 2  # the first registers confirmed by a second readout
    good = value(hass, ENERGY)
    hertz = value(hass, "sensor.house_frequency")

    def wrong(line: str) -> str:
        return replaced_value("14.7.0", "99.00")(replaced_value("1.8.0", "99999999.999")(line))

    readout_changed(meter, wrong)
    await poll(hass, entry)
    assert meter.readouts == 4
    assert value(hass, ENERGY) == good
    assert 49 < value(hass, "sensor.house_frequency") < 51
    assert coordinator.guard.rejections == {"active_energy_import": 1, "frequency": 1}
    readout_changed(meter, replaced_value("14.7.0", "0.00"), times=2)
    await poll(hass, entry)
    assert hass.states.get("sensor.house_frequency").state == STATE_UNKNOWN
    assert value(hass, ENERGY) == good
    assert max(float(state) for state in states_written[ENERGY]) == good
    frequencies = [float(s) for s in states_written["sensor.house_frequency"] if s != "unknown"]
    assert frequencies and all(40 <= f <= 70 for f in frequencies)
    assert hertz > 0


async def test_a_meter_exchanged_is_taken_after_polls_that_agree(
    recorder_mock: Any, hass: HomeAssistant, simulated: Simulated
) -> None:
    """A register that really starts again is shown after a few polls, not never."""
    entry = await setup_entry(hass, make_entry(simulated.url))
    (coordinator,) = entry.runtime_data.coordinators.values()
    good = value(hass, ENERGY)
    simulated.line.meters[0].model.energy_import_kwh = 7.0
    await poll(hass, entry)
    await poll(hass, entry)
    assert value(hass, ENERGY) == good  # two polls: three reads, not yet enough
    await poll(hass, entry)
    assert value(hass, ENERGY) == 7.0
    assert coordinator.guard.baselines_replaced == 1


async def test_a_bad_maximum_power_falls_back_to_the_default(
    recorder_mock: Any,
    hass: HomeAssistant,
    simulated: Simulated,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subentry = meter_subentry("House")
    subentry["data"] = {**meter_record(), MAX_POWER_KW: "lots"}
    entry = await setup_entry(hass, make_entry(simulated.url, subentry))
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert coordinator.guard.limits.max_power_kw == 1000.0
    assert "max_power_kw must be a number" in caplog.text
    subentry["data"] = {**meter_record(), MAX_POWER_KW: 20_000}
    assert await hass.config_entries.async_remove(entry.entry_id)
    entry = await setup_entry(hass, make_entry(simulated.url, subentry))
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert coordinator.guard.limits.max_power_kw == 20_000.0


async def test_a_register_the_meter_flags_invalid_is_unknown(
    recorder_mock: Any, hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    original = simulated.line.meters[0].model.sample

    def invalid(when: datetime) -> Any:
        values = original(when)
        return type(values)((None, *values.energy[1:]), values.powers, values.phases, None)

    simulated.line.meters[0].model.sample = invalid  # type: ignore[method-assign]
    await poll(hass, entry)
    assert hass.states.get(ENERGY).state == STATE_UNKNOWN


async def test_a_value_the_meter_left_out_is_unknown_not_held(
    recorder_mock: Any,
    hass: HomeAssistant,
    simulated: Simulated,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only what the guard holds back keeps its state; what the meter omits is unknown."""
    entry = await setup_entry(hass, make_entry(simulated.url))
    simulated.line.meters[0].omit_phases_every = 1  # voltages and currents left out
    with caplog.at_level(logging.DEBUG, logger="custom_components.iec_meter"):
        await poll(hass, entry)
    assert hass.states.get("sensor.house_voltage_l1").state == STATE_UNKNOWN
    assert "this answer left out current_l1" in caplog.text
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert not coordinator.withheld
    assert value(hass, ENERGY) > 0
