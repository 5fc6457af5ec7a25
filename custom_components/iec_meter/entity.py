"""Base entity: one device per meter, named by the meter subentry."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import (
    CONF_DEVICE,
    CONF_MANUFACTURER_CODE,
    CONF_SERIAL_NUMBER,
    CONF_STANDARD_DATE,
    DOMAIN,
    MANUFACTURERS,
)
from .coordinator import IecMeterCoordinator

MODEL = "IEC 870-5-102 (REE) meter"


def manufacturer_name(code: int) -> str:
    """The manufacturer's name where the code is known, else the code."""
    return MANUFACTURERS.get(code, f"Manufacturer code {code}")


def configuration_url(device: str) -> str | None:
    """A TCP converter's own web page; serial ports have none."""
    parsed = urlparse(device)
    if parsed.scheme in ("socket", "rfc2217") and parsed.hostname:
        return f"http://{parsed.hostname}"
    return None


def device_info(meter_id: str, title: str, data: dict[str, Any], device: str) -> DeviceInfo:
    """Device registry entry of one meter."""
    code = int(data[CONF_MANUFACTURER_CODE])
    info = DeviceInfo(
        identifiers={(DOMAIN, meter_id)},
        name=title,
        manufacturer=manufacturer_name(code),
        model=MODEL,
        model_id=str(code),
        serial_number=str(data[CONF_SERIAL_NUMBER]),
        sw_version=f"IEC 870-5-102 {data[CONF_STANDARD_DATE]}",
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
        self._attr_unique_id = f"{meter_id}_{key}"
        self._attr_device_info = device_info(
            meter_id,
            subentry.title,
            dict(subentry.data),
            coordinator.config_entry.data[CONF_DEVICE],
        )
