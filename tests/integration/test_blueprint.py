"""The contracted-power blueprint, loaded by Home Assistant's blueprint loader and run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed, async_mock_service

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT = ROOT / "blueprints/automation/iec_meter/contracted_power_warning.yaml"
LOAD = "sensor.house_contracted_load"


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Home Assistant's configuration folder with our blueprint where users import it."""
    target = tmp_path / "blueprints/automation/iec_meter"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target)
    hass.config.config_dir = str(tmp_path)
    return tmp_path


async def automation(hass: HomeAssistant, **inputs: Any) -> None:
    config = {
        "automation": [
            {
                "use_blueprint": {
                    "path": "iec_meter/contracted_power_warning.yaml",
                    "input": {"load_sensor": LOAD, **inputs},
                }
            }
        ]
    }
    assert await async_setup_component(hass, "automation", config)
    await hass.async_block_till_done()


async def test_warns_only_when_the_load_stays_above_the_threshold(
    hass: HomeAssistant, config_dir: Path
) -> None:
    calls = async_mock_service(hass, "test", "notify")
    hass.states.async_set(LOAD, "40", {"unit_of_measurement": "%"})
    await automation(
        hass,
        notify_action=[{"action": "test.notify", "data": {"load": "{{ trigger.to_state.state }}"}}],
    )
    # A peak shorter than the default two minutes does not warn.
    hass.states.async_set(LOAD, "95", {"unit_of_measurement": "%"})
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=60))
    hass.states.async_set(LOAD, "60", {"unit_of_measurement": "%"})
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=3))
    await hass.async_block_till_done()
    assert calls == []
    # Above 90 % for two minutes warns, once.
    hass.states.async_set(LOAD, "97", {"unit_of_measurement": "%"})
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done()
    assert [call.data["load"] for call in calls] == [97]


async def test_the_default_action_is_a_notification(hass: HomeAssistant, config_dir: Path) -> None:
    notified: list[dict[str, Any]] = []
    assert await async_setup_component(hass, "persistent_notification", {})
    persistent_notification.async_register_callback(
        hass, lambda kind, messages: notified.extend(messages.values())
    )
    hass.states.async_set(LOAD, "10", {"unit_of_measurement": "%", "friendly_name": "House"})
    await automation(hass, threshold=80, duration={"seconds": 30})
    hass.states.async_set(LOAD, "85", {"unit_of_measurement": "%", "friendly_name": "House"})
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=31))
    await hass.async_block_till_done()
    assert [item["message"] for item in notified] == ["House: 85 %"]
