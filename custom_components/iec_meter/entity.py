"""Base entity: one device per meter, named by the meter subentry."""

from __future__ import annotations

from urllib.parse import urlparse

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_DEVICE, DOMAIN
from .coordinator import IecMeterCoordinator
from .core.model import Identity


def configuration_url(device: str) -> str | None:
    """A TCP converter's own web page; serial ports have none."""
    parsed = urlparse(device)
    if parsed.scheme in ("socket", "rfc2217") and parsed.hostname:
        return f"http://{parsed.hostname}"
    return None


def device_info(meter_id: str, title: str, identity: Identity, device: str) -> DeviceInfo:
    """Device registry entry of one meter.

    The manufacturer is the name the protocol's driver gives the meter's code: an IEC
    62056-21 FLAG id not in its table shows as its three letters, which name a maker;
    an IEC 102 code shows none, a bare "66" tells a user nothing (the diagnostics keep
    it). Manufacturer and model id are always given, so what early releases showed
    there is cleared.
    """
    info = DeviceInfo(
        identifiers={(DOMAIN, meter_id)},
        name=title,
        manufacturer=identity.manufacturer_name,
        model=identity.model,
        model_id=None,
        serial_number=identity.serial,
        # Always given, so the standard's date that early releases showed here is cleared.
        sw_version=identity.firmware,
    )
    url = configuration_url(device)
    if url is not None:
        info["configuration_url"] = url
    return info


class IecMeterEntity(CoordinatorEntity[IecMeterCoordinator]):
    """An entity of one meter."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: IecMeterCoordinator, key: str) -> None:
        """Tie the entity to its meter's device."""
        super().__init__(coordinator)
        subentry = coordinator.subentry
        meter_id = str(subentry.unique_id)
        driver = coordinator.config_entry.runtime_data.driver
        self._attr_unique_id = f"{meter_id}_{key}"
        self._attr_device_info = device_info(
            meter_id,
            subentry.title,
            driver.stored_identity(subentry.data),
            coordinator.config_entry.data[CONF_DEVICE],
        )
