"""Home Assistant with IEC 62056-21 meters: the simulator over real TCP."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er

from custom_components.iec_meter.const import DOMAIN

from .conftest import Simulated62056


async def test_explore(hass: HomeAssistant, simulated_62056: Simulated62056) -> None:
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "iec62056"})
    print(result)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "network"})
    print(result)
    host, port = simulated_62056.url.removeprefix("socket://").split(":")
    result = await flow.async_configure(result["flow_id"], {"host": host, "port": int(port)})
    print(result)
    result = await flow.async_configure(
        result["flow_id"], {"name": "House", "t2_ms": 200, "poll_delay_ms": 0}
    )
    print(result)
    result = await flow.async_configure(
        result["flow_id"], {"signals": ["active_power"], "data": ["1.8.0*24"]}
    )
    print(result)
    await hass.async_block_till_done()
    for e in er.async_entries_for_config_entry(er.async_get(hass), result["result"].entry_id):
        print(e.entity_id, e.disabled_by, hass.states.get(e.entity_id))
