"""The pass-through gateway in Home Assistant: real TCP, against the simulator.

A gateway is a "gateway" subentry of a connection. Adding one reloads the connection,
which then listens on the gateway's port; an outside program that connects there gets
the whole line (our meters keep their last values meanwhile, up to the lock limit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
import logging
import re
import socket
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iec_meter import async_remove_config_entry_device
from custom_components.iec_meter.const import (
    CONF_INACTIVITY_TIMEOUT,
    CONF_INTERFACE,
    CONF_LOCK_LIMIT,
    CONF_PORT,
    CONF_PRIORITY,
    DOMAIN,
    SUBENTRY_GATEWAY,
)
from custom_components.iec_meter.core.bus import Bus
from custom_components.iec_meter.core.gateway import Gateway
from custom_components.iec_meter.core.iec102.client import Iec102Client
from custom_components.iec_meter.core.iec102.constants import TypeId
from custom_components.iec_meter.core.iec102.settings import Iec102Settings
from custom_components.iec_meter.core.timing import Timing
from custom_components.iec_meter.core.transport import LineSettings
from custom_components.iec_meter.gateway_entity import MODEL
from custom_components.iec_meter.gateways import issue_id
from simulator.line import MeterLine
from tests.conftest import MADRID

from .conftest import FAST_OPTIONS, Simulated, make_entry, meter_subentry, setup_entry

#: The outside program's own timing: patient, since the gateway first ends our sessions.
OUTSIDE = Timing(request_timeout_ms=2000, retries=3)
#: Longest wait for anything in these tests (the machine may be busy).
WAIT_S = 10.0
ENERGY = "sensor.house_energy_import"
CLIENT_ADDRESS = re.compile(r"127\.0\.0\.1:\d+")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def taken_port() -> Any:
    """A port a plain socket listens on for the duration of the block."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]
    finally:
        holder.close()


async def can_listen(port: int) -> bool:
    """True if a new listener (as the next gateway would) can take ``port``.

    A connection the gateway closed lingers in TIME_WAIT; listeners (asyncio's, ours)
    set SO_REUSEADDR and are not held up by it, as the port is released.
    """
    try:
        server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)
    except OSError:
        return False
    server.close()
    await server.wait_closed()
    return True


def gateway_data(
    port: int, priority: int = 1, inactivity_ms: int = 60_000, interface: str = "127.0.0.1"
) -> dict[str, Any]:
    """A gateway's form input, as the subentry stores it too."""
    return {
        CONF_PORT: port,
        CONF_INTERFACE: interface,
        CONF_PRIORITY: priority,
        CONF_INACTIVITY_TIMEOUT: inactivity_ms,
    }


def gateway_subentry(port: int, **kwargs: Any) -> dict[str, Any]:
    """A gateway subentry as the flow makes it."""
    data = gateway_data(port, **kwargs)
    return {
        "data": data,
        "subentry_type": SUBENTRY_GATEWAY,
        "title": f"Gateway {data[CONF_INTERFACE]}:{port}",
        "unique_id": None,
    }


def with_gateway(
    url: str, port: int, options: dict[str, Any] | None = None, **kwargs: Any
) -> MockConfigEntry:
    """An entry with the House meter and one gateway."""
    return make_entry(
        url, meter_subentry("House"), gateway_subentry(port, **kwargs), options=options
    )


def gateway_id(entry: MockConfigEntry, port: int | None = None) -> str:
    """The subentry id of the entry's gateway (the one on ``port``, if given)."""
    return next(
        subentry_id
        for subentry_id, subentry in entry.subentries.items()
        if subentry.subentry_type == SUBENTRY_GATEWAY
        and (port is None or subentry.data[CONF_PORT] == port)
    )


def running_gateway(entry: MockConfigEntry) -> Gateway:
    gateway: Gateway = entry.runtime_data.gateways[gateway_id(entry)]
    return gateway


def entity_ids(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str) -> dict[str, str]:
    """Entity ids of a gateway's In use, Client and Held since entities."""
    registry = er.async_get(hass)
    prefix = f"{entry.entry_id}_{subentry_id}_"
    ids = {}
    for platform, key in (
        ("binary_sensor", "gateway_in_use"),
        ("sensor", "gateway_client"),
        ("sensor", "gateway_held_since"),
    ):
        entity_id = registry.async_get_entity_id(platform, DOMAIN, prefix + key)
        assert entity_id is not None, key
        ids[key.removeprefix("gateway_")] = entity_id
    return ids


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def logins(line: MeterLine) -> int:
    """Logins (C_AC_NA_2) the meters have received."""
    return sum(1 for _, _, asdu in line.trace if asdu == TypeId.C_AC_NA_2)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until ``condition`` holds."""
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():  # noqa: ASYNC110 - state that several places change
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"still waiting for: {what}")


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """True when the other end closes the connection (bounded wait)."""
    async with asyncio.timeout(WAIT_S):
        try:
            return await reader.read(100) == b""
        except ConnectionResetError:
            return True


@contextlib.asynccontextmanager
async def raw_client(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A plain TCP connection to a gateway (a program that says nothing yet)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def outside_program(port: int) -> AsyncIterator[Iec102Client]:
    """An IEC 102 client on a bus of its own, wired to the meter through a gateway."""
    url = f"socket://127.0.0.1:{port}"
    async with Bus(LineSettings(url, connect_timeout=2.0), OUTSIDE) as bus:
        yield Iec102Client(bus, Iec102Settings(1, 1, 1), MADRID)


async def add_gateway(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Open the "Add gateway" form."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_GATEWAY), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


def form_defaults(result: dict[str, Any]) -> dict[str, Any]:
    return {
        str(key): key.default() for key in result["data_schema"].schema if callable(key.default)
    }


# --- the subentry flow --------------------------------------------------------------------


async def test_add_a_gateway(hass: HomeAssistant, simulated: Simulated) -> None:
    entry = await setup_entry(hass, make_entry(simulated.url))
    bus = entry.runtime_data.bus
    result = await add_gateway(hass, entry)
    assert form_defaults(result) == gateway_data(5001)
    assert result["errors"] == {}
    port = free_port()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], gateway_data(port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Gateway 127.0.0.1:{port}"
    assert result["data"] == gateway_data(port)
    await hass.async_block_till_done()

    # The entry reloaded (a new bus) and now listens on the port.
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.bus is not bus
    subentry_id = gateway_id(entry)
    gateway = entry.runtime_data.gateways[subentry_id]
    assert gateway.listening
    assert gateway.port == port

    # Its entities, on a device of its own.
    ids = entity_ids(hass, entry, subentry_id)
    assert state(hass, ids["in_use"]) == STATE_OFF
    assert state(hass, ids["client"]) == STATE_UNKNOWN
    assert state(hass, ids["held_since"]) == STATE_UNKNOWN
    in_use = hass.states.get(ids["in_use"])
    assert in_use is not None
    assert in_use.attributes["friendly_name"] == f"Gateway 127.0.0.1:{port} In use"
    registry = er.async_get(hass)
    device_ids = set()
    for entity_id in ids.values():
        registered = registry.async_get(entity_id)
        assert registered is not None
        assert registered.config_subentry_id == subentry_id
        device_ids.add(registered.device_id)
    (device_id,) = device_ids
    assert device_id is not None
    device = dr.async_get(hass).async_get(device_id)
    assert device is not None
    assert device.name == f"Gateway 127.0.0.1:{port}"
    assert device.model == MODEL
    assert state(hass, ENERGY) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)

    # It listens: a program that connects gets the line.
    async with raw_client(port):
        await until(lambda: gateway.in_use, "the gateway to accept a client")
        await hass.async_block_till_done()
        assert state(hass, ids["in_use"]) == STATE_ON
        assert CLIENT_ADDRESS.fullmatch(state(hass, ids["client"]))
    await until(lambda: not gateway.in_use, "the client to be gone")
    await hass.async_block_till_done()
    assert state(hass, ids["in_use"]) == STATE_OFF


async def test_gateway_form_errors_and_recovery(hass: HomeAssistant, simulated: Simulated) -> None:
    first = free_port()
    entry = await setup_entry(hass, with_gateway(simulated.url, first, priority=1))
    result = await add_gateway(hass, entry)

    async def submit(data: dict[str, Any]) -> dict[str, Any]:
        return await hass.config_entries.subentries.async_configure(result["flow_id"], data)

    with taken_port() as taken:
        result = await submit(gateway_data(taken, priority=2))
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "port_in_use"}
        assert form_defaults(result) == gateway_data(taken, priority=2)  # kept as typed
    result = await submit(gateway_data(first, priority=2))  # another gateway's port
    assert result["errors"] == {"base": "port_in_use"}
    second = free_port()
    result = await submit(gateway_data(second, priority=1))  # the first one's priority
    assert result["errors"] == {"base": "priority_in_use"}
    result = await submit(gateway_data(second, priority=2, interface="not-an-ip"))
    assert result["errors"] == {"base": "invalid_interface"}
    result = await submit(gateway_data(second, priority=2, interface=" 127.0.0.1 "))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_INTERFACE] == "127.0.0.1"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert {gateway.port for gateway in entry.runtime_data.gateways.values()} == {first, second}


async def test_a_port_of_another_connections_gateway_is_in_use(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    port = free_port()
    await setup_entry(hass, with_gateway(simulated.url, port, priority=1))
    # Another connection (not loaded: no line behind it) cannot take the port either,
    # though its own priorities are its own.
    other = make_entry("socket://192.0.2.10:4001")
    other.add_to_hass(hass)
    result = await add_gateway(hass, other)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], gateway_data(port, priority=1)
    )
    assert result["errors"] == {"base": "port_in_use"}


async def test_reconfigure_a_gateway(hass: HomeAssistant, simulated: Simulated) -> None:
    port, other_port = free_port(), free_port()
    entry = make_entry(
        simulated.url,
        meter_subentry("House"),
        gateway_subentry(port, priority=1),
        gateway_subentry(other_port, priority=2),
    )
    await setup_entry(hass, entry)
    subentry_id = gateway_id(entry, port)

    async def reconfigure(data: dict[str, Any] | None = None) -> dict[str, Any]:
        result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        assert form_defaults(result) == entry.subentries[subentry_id].data
        if data is None:
            return result
        return await hass.config_entries.subentries.async_configure(result["flow_id"], data)

    result = await reconfigure(gateway_data(port, priority=2))
    assert result["errors"] == {"base": "priority_in_use"}
    result = await reconfigure(gateway_data(other_port, priority=3))
    assert result["errors"] == {"base": "port_in_use"}
    # Its own port is not "in use" (its own running gateway listens there).
    result = await reconfigure(gateway_data(port, priority=3, inactivity_ms=5000))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id].data == gateway_data(port, 3, 5000)
    assert entry.state is ConfigEntryState.LOADED
    gateway = entry.runtime_data.gateways[subentry_id]
    assert gateway.listening
    assert gateway.settings.priority == 3
    assert gateway.settings.inactivity_timeout_ms == 5000
    # A move to another port: the title follows, the old port is free again.
    new_port = free_port()
    result = await reconfigure(gateway_data(new_port, priority=3))
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.subentries[subentry_id].title == f"Gateway 127.0.0.1:{new_port}"
    assert entry.runtime_data.gateways[subentry_id].port == new_port
    assert await can_listen(port)


# --- an outside program through the gateway ----------------------------------------------


async def test_an_outside_program_reads_the_meter_while_the_coordinator_waits(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    port = free_port()
    entry = await setup_entry(hass, with_gateway(simulated.url, port))
    (coordinator,) = entry.runtime_data.coordinators.values()
    gateway = running_gateway(entry)
    ids = entity_ids(hass, entry, gateway_id(entry))
    energy = state(hass, ENERGY)
    assert energy not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    assert logins(simulated.line) == 1
    bus = entry.runtime_data.bus

    async with outside_program(port) as outside:
        reading = await outside.read_values()  # its own framing, through the gateway
        assert reading.get("active_energy_import") is not None
        assert bus.held
        assert logins(simulated.line) == 2  # the outside program's session
        await hass.async_block_till_done()
        assert state(hass, ids["in_use"]) == STATE_ON
        client = state(hass, ids["client"])
        assert CLIENT_ADDRESS.fullmatch(client)
        assert client == gateway.client_address
        held_since = dt_util.parse_datetime(state(hass, ids["held_since"]))
        assert held_since is not None
        assert abs((dt_util.utcnow() - held_since).total_seconds()) < WAIT_S

        # Meanwhile a refresh keeps the last values and sends nothing to the meter.
        trace, sent = len(simulated.line.trace), bus.transport.bytes_sent
        polls = coordinator.statistics.polls
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert coordinator.last_update_success
        assert state(hass, ENERGY) == energy
        assert len(simulated.line.trace) == trace
        assert bus.transport.bytes_sent == sent
        assert coordinator.statistics.polls == polls
        await outside.close()  # logs out; the bus disconnects as the block ends

    await until(lambda: not gateway.in_use, "the client to be gone")
    await hass.async_block_till_done()
    assert state(hass, ids["in_use"]) == STATE_OFF
    assert state(hass, ids["client"]) == client  # the last client stays shown
    assert state(hass, ids["held_since"]) == STATE_UNKNOWN
    assert not bus.held

    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert logins(simulated.line) == 3  # polling logged in afresh
    assert coordinator.statistics.polls == polls + 1
    assert coordinator.last_update_success
    assert state(hass, ENERGY) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)


async def test_the_lock_limit_makes_the_meters_unavailable(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    port = free_port()
    options = {**FAST_OPTIONS, CONF_LOCK_LIMIT: 200}
    entry = await setup_entry(hass, with_gateway(simulated.url, port, options=options))
    (coordinator,) = entry.runtime_data.coordinators.values()
    bus = entry.runtime_data.bus
    gateway = running_gateway(entry)
    assert state(hass, ENERGY) != STATE_UNAVAILABLE

    async with raw_client(port):
        await until(lambda: bus.held, "the gateway to take the line")
        await coordinator.async_refresh()  # within the limit: the last values stay
        await hass.async_block_till_done()
        assert state(hass, ENERGY) != STATE_UNAVAILABLE
        await asyncio.sleep(0.25)
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert not coordinator.last_update_success
        assert state(hass, ENERGY) == STATE_UNAVAILABLE
        assert "out of service" in str(coordinator.last_exception)

    await until(lambda: not gateway.in_use, "the client to be gone")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert coordinator.last_update_success
    assert state(hass, ENERGY) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)


async def test_a_meter_without_values_is_unavailable_while_handed_over(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    """A meter that never answered has no last values to keep, even with no lock limit."""
    port = free_port()
    entry = make_entry(simulated.url, meter_subentry("Shed", link=5), gateway_subentry(port))
    await setup_entry(hass, entry)  # no meter at link 5 on the line
    (coordinator,) = entry.runtime_data.coordinators.values()
    assert coordinator.data is None
    bus = entry.runtime_data.bus
    async with raw_client(port):
        await until(lambda: bus.held, "the gateway to take the line")
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        assert not coordinator.last_update_success
        assert "out of service" in str(coordinator.last_exception)
        assert state(hass, "sensor.shed_energy_import") == STATE_UNAVAILABLE


async def test_the_inactivity_timeout_ends_a_silent_client(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    entry = await setup_entry(hass, with_gateway(simulated.url, port, inactivity_ms=200))
    gateway = running_gateway(entry)
    ids = entity_ids(hass, entry, gateway_id(entry))
    caplog.set_level(logging.INFO)
    async with raw_client(port) as (reader, _):
        await until(lambda: gateway.in_use, "the gateway to accept the client")
        assert await closed_by_peer(reader)
    await until(lambda: not gateway.in_use, "the client to be gone")
    await hass.async_block_till_done()
    assert "nothing from it for 0.2 s" in caplog.text
    assert state(hass, ids["in_use"]) == STATE_OFF
    assert not entry.runtime_data.bus.held
    (coordinator,) = entry.runtime_data.coordinators.values()
    await coordinator.async_refresh()
    assert coordinator.last_update_success


# --- set-up, unload, diagnostics -----------------------------------------------------------


async def test_a_gateway_whose_port_is_taken_is_reported(
    hass: HomeAssistant, simulated: Simulated, caplog: pytest.LogCaptureFixture
) -> None:
    issues = ir.async_get(hass)
    with taken_port() as port:
        entry = await setup_entry(hass, with_gateway(simulated.url, port))
        subentry_id = gateway_id(entry)
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.gateways == {}
        warnings = [r for r in caplog.records if "cannot listen" in r.getMessage()]
        assert [r.levelno for r in warnings] == [logging.WARNING]
        assert f"port {port}" in warnings[0].getMessage()
        issue = issues.async_get_issue(DOMAIN, issue_id(subentry_id))
        assert issue is not None
        assert issue.translation_key == "gateway_unavailable"
        assert issue.severity is ir.IssueSeverity.ERROR
        assert issue.translation_placeholders is not None
        assert issue.translation_placeholders["gateway"] == f"Gateway 127.0.0.1:{port}"
        assert state(hass, ENERGY) not in (STATE_UNAVAILABLE, STATE_UNKNOWN)  # meters work
        registry = er.async_get(hass)
        unique_id = f"{entry.entry_id}_{subentry_id}_gateway_in_use"
        assert registry.async_get_entity_id("binary_sensor", DOMAIN, unique_id) is None

    # The port is free again: a reload starts the gateway and clears the issue.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id(subentry_id)) is None
    assert entry.runtime_data.gateways[subentry_id].listening
    ids = entity_ids(hass, entry, subentry_id)
    assert state(hass, ids["in_use"]) == STATE_OFF


async def test_unload_with_a_client_connected_closes_everything(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    port = free_port()
    entry = await setup_entry(hass, with_gateway(simulated.url, port))
    gateway = running_gateway(entry)
    bus = entry.runtime_data.bus
    async with raw_client(port) as (reader, _):
        await until(lambda: bus.held, "the gateway to take the line")
        assert bus.transport.is_open
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.NOT_LOADED
        assert await closed_by_peer(reader)
    assert not gateway.listening
    assert not gateway.in_use
    assert not bus.held
    assert not bus.transport.is_open
    assert await can_listen(port)  # the port is released


async def test_diagnostics_list_the_gateway(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, simulated: Simulated
) -> None:
    port = free_port()
    entry = await setup_entry(hass, with_gateway(simulated.url, port, priority=4))
    subentry_id = gateway_id(entry)
    gateway = running_gateway(entry)
    async with outside_program(port) as outside:
        assert (await outside.read_values()).get("active_energy_import") is not None
        await outside.close()
    await until(lambda: not gateway.in_use, "the client to be gone")
    last_client = gateway.last_client
    assert last_client is not None

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    listed = diagnostics["gateways"][subentry_id]
    assert listed["settings"] == {
        "port": port,
        "host": "127.0.0.1",
        "priority": 4,
        "inactivity_timeout_ms": 60_000,
    }
    assert listed["listening"] is True
    assert listed["in_use"] is False
    assert listed["last_client"] == last_client
    assert listed["clients_served"] == 1
    assert listed["clients_refused"] == 0
    assert listed["bytes_to_meter"] > 0
    assert listed["bytes_from_meter"] > 0
    # Counts only: nothing the client sent or received is kept.
    assert all(isinstance(value, int | str | bool | dict) for value in listed.values())
    assert not {"frames", "traffic", "hex", "data"} & set(listed)
    gateway_subentry_listed = next(
        item for item in diagnostics["entry"]["subentries"] if item["subentry_id"] == subentry_id
    )
    assert gateway_subentry_listed["data"] == gateway_data(port, priority=4)


async def test_a_configured_gateways_device_cannot_be_removed(
    hass: HomeAssistant, simulated: Simulated
) -> None:
    entry = await setup_entry(hass, with_gateway(simulated.url, free_port()))
    devices = dr.async_get(hass)
    subentry_id = gateway_id(entry)
    (gateway_device,) = [
        device
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
        if (DOMAIN, f"{entry.entry_id}_{subentry_id}") in device.identifiers
    ]
    assert not await async_remove_config_entry_device(hass, entry, gateway_device)
    assert await hass.config_entries.async_unload(entry.entry_id)
