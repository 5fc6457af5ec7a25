"""Runtime data of a config entry (one connection and its meters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .connection import MeterConnection
    from .coordinator import IecMeterCoordinator


@dataclass
class IecMeterRuntime:
    """The connection owner and one coordinator per meter subentry."""

    connection: MeterConnection
    coordinators: dict[str, IecMeterCoordinator]


type IecMeterConfigEntry = ConfigEntry[IecMeterRuntime]
