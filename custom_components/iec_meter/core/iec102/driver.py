"""IEC 60870-5-102 (REE profile) behind the driver interface."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, ClassVar, Final

from ..bus import Bus
from ..driver import Driver, FieldKind, LineDefaults, SettingField
from ..model import Identity
from ..timing import DEFAULT_REQUEST_TIMEOUT_MS
from .client import MODEL, Iec102Client
from .constants import (
    DEFAULT_TIME_ZONE,
    LINK_ADDRESS_MAX,
    MANUFACTURERS,
    PASSWORD_MAX,
    POINT_ADDRESS_MAX,
)
from .settings import Iec102Settings
from .signals import IEC102_RESOLUTION, IEC102_SIGNALS

# Keys of a meter's settings and stored identity (config subentries use them: keep them).
LINK_ADDRESS: Final = "link_address"
POINT_ADDRESS: Final = "point_address"
PASSWORD: Final = "password"  # noqa: S105 - a key, not a secret
TIME_ZONE: Final = "time_zone"
MANUFACTURER_CODE: Final = "manufacturer_code"
SERIAL_NUMBER: Final = "serial_number"
STANDARD_DATE: Final = "standard_date"

#: Zones of Spanish meters' clocks (the peninsula and the Canary Islands).
TIME_ZONES: Final = ("Europe/Madrid", "Atlantic/Canary")


class Iec102Driver(Driver[Iec102Settings]):
    """Spanish utility meters with IEC 102 telemetering."""

    name = "iec102"
    title = "IEC 60870-5-102 (REE)"
    line_defaults = LineDefaults(baudrate=9600, bytesize=8, parity="N", stopbits=1, tcp_port=4001)
    default_request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS
    default_scan_interval_s = 30
    signals = IEC102_SIGNALS
    resolution = IEC102_RESOLUTION
    keeps_records = True
    meter_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField(LINK_ADDRESS, FieldKind.NUMBER, None, 0, LINK_ADDRESS_MAX),
        SettingField(POINT_ADDRESS, FieldKind.NUMBER, 1, 0, POINT_ADDRESS_MAX),
        SettingField(PASSWORD, FieldKind.SECRET, None, 0, PASSWORD_MAX),
        SettingField(
            TIME_ZONE, FieldKind.SELECT, DEFAULT_TIME_ZONE, options=TIME_ZONES, custom=True
        ),
    )
    #: What a utility's meters usually have (unconfirmed by a primary source): line
    #: parity and meter defaults, offered to pre-fill the forms.
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "iberdrola": {"parity": "N", POINT_ADDRESS: 1, PASSWORD: 7},
        "endesa": {"parity": "E", POINT_ADDRESS: 1, PASSWORD: 1},
        "naturgy": {"parity": "N", POINT_ADDRESS: 1, PASSWORD: 1},
        "viesgo": {"parity": "N", POINT_ADDRESS: 1, PASSWORD: 1},
        "other": {"parity": "N", POINT_ADDRESS: 1},
    }

    def settings(self, data: Mapping[str, Any]) -> Iec102Settings:
        """Addresses and password from stored or entered data."""
        try:
            return Iec102Settings(
                link_address=int(data[LINK_ADDRESS]),
                point_address=int(data[POINT_ADDRESS]),
                password=int(data[PASSWORD]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"missing or bad setting: {err}") from err

    def client(self, bus: Bus, settings: Iec102Settings, tz: tzinfo) -> Iec102Client:
        """A client for one meter on ``bus``."""
        return Iec102Client(bus, settings, tz)

    def unique_id(self, identity: Identity, settings: Iec102Settings) -> str:
        """Manufacturer code and equipment serial identify a meter anywhere."""
        return f"{identity.manufacturer}-{identity.serial}"

    def identity_record(self, identity: Identity) -> dict[str, Any]:
        """Stored as the first release stored it (numbers and the standard date)."""
        return {
            MANUFACTURER_CODE: int(identity.manufacturer),
            SERIAL_NUMBER: int(identity.serial),
            STANDARD_DATE: str(identity.fields.get(STANDARD_DATE, "")),
        }

    def stored_identity(self, record: Mapping[str, Any]) -> Identity:
        """The identity a configured meter was set up with."""
        code = int(record[MANUFACTURER_CODE])
        return Identity(
            manufacturer=str(code),
            serial=str(record[SERIAL_NUMBER]),
            model=MODEL,
            fields={STANDARD_DATE: str(record.get(STANDARD_DATE, ""))},
            manufacturer_name=MANUFACTURERS.get(code),
        )

    def describe(self, settings: Iec102Settings) -> str:
        """The link address names a meter on its bus."""
        return f"link address {settings.link_address}"
