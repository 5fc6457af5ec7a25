"""IEC 62056-21 (modes A to D) behind the driver interface."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, ClassVar, Final

from ..bus import Bus
from ..driver import Driver, FieldKind, LineDefaults, SettingField
from ..model import Identity, Reading
from .client import (
    FIELD_SERIAL_ADDRESS,
    Iec62056Client,
    Iec62056Settings,
)
from .constants import (
    BAUDRATES,
    DATA_BITS,
    DEFAULT_MAX_READOUT_BYTES,
    DEFAULT_POLL_DELAY_MS,
    DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_T2_MS,
    INITIAL_BAUDRATE,
    MAX_POLL_DELAY_MS,
    MAX_T2_MS,
    MIN_T2_MS,
    PARITY,
    STOP_BITS,
    Mode,
    manufacturer_name,
)
from .obis import (
    MAX_DEMAND_SIGNAL,
    REGISTERS,
    SIGNAL_KEYS,
    SIGNED_POWERS,
    signal_decimals,
    standard_addresses,
)

# Keys of a meter's settings (config subentries store them: keep them).
DEVICE_ADDRESS: Final = "device_address"
MODE: Final = "mode"
INITIAL_BAUDRATE_KEY: Final = "initial_baudrate"
MAX_BAUDRATE: Final = "max_baudrate"
T2_MS: Final = "t2_ms"
WAKE_UP: Final = "wake_up"
ECHO: Final = "echo"
STRIP_PARITY: Final = "strip_parity"
POLL_DELAY_MS: Final = "poll_delay_ms"
#: Largest data message (bytes); also sets its deadline. Read from stored data only: it
#: has no form field yet (a field needs its translations).
MAX_READOUT_BYTES: Final = "max_readout_bytes"
# Keys of the stored identity.
MANUFACTURER: Final = "manufacturer"
SERIAL: Final = "serial"
MODEL: Final = "model"
FIELDS: Final = "fields"

#: Max baud rate options: "0" means "whatever the meter announces".
NO_LIMIT: Final = "0"
_SPEEDS: Final = tuple(str(baud) for baud in BAUDRATES)
#: TCP port of the transparent converters most sold for meter reading (Moxa NPort's
#: TCP server mode listens on 4001), the same default as the IEC 102 driver.
TCP_PORT: Final = 4001
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"{key}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{key}: expected a number, got {value!r}") from err
    if not number.is_integer():
        raise ValueError(f"{key}: expected a whole number, got {value!r}")
    return int(number)


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{key}: expected yes or no, got {value!r}")


class Iec62056Driver(Driver[Iec62056Settings]):
    """Meters with an optical or current-loop IEC 62056-21 port (data readout)."""

    name = "iec62056"
    title = "IEC 62056-21"
    line_defaults = LineDefaults(
        baudrate=INITIAL_BAUDRATE,
        bytesize=DATA_BITS,
        parity=PARITY,
        stopbits=STOP_BITS,
        tcp_port=TCP_PORT,
    )
    default_request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS
    #: A readout at 300 baud can take 20-30 s: one a minute leaves the line free.
    default_scan_interval_s = 60
    signals = SIGNAL_KEYS
    #: Until a readout tells the meter's own digits: registers and powers in Wh and W.
    resolution: ClassVar[Mapping[str, int]] = {
        **dict.fromkeys((*REGISTERS.values(), *SIGNED_POWERS, MAX_DEMAND_SIGNAL), 3)
    }
    labelled_data = True
    meter_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField(DEVICE_ADDRESS, FieldKind.TEXT, ""),
        SettingField(
            MODE, FieldKind.SELECT, Mode.C.value, options=tuple(mode.value for mode in Mode)
        ),
        SettingField(
            MAX_BAUDRATE, FieldKind.SELECT, NO_LIMIT, options=(NO_LIMIT, *_SPEEDS), advanced=True
        ),
        SettingField(T2_MS, FieldKind.NUMBER, DEFAULT_T2_MS, MIN_T2_MS, MAX_T2_MS, advanced=True),
        SettingField(WAKE_UP, FieldKind.BOOLEAN, False, advanced=True),
        SettingField(ECHO, FieldKind.BOOLEAN, False, advanced=True),
        SettingField(STRIP_PARITY, FieldKind.BOOLEAN, False, advanced=True),
        SettingField(
            POLL_DELAY_MS,
            FieldKind.NUMBER,
            DEFAULT_POLL_DELAY_MS,
            0,
            MAX_POLL_DELAY_MS,
            advanced=True,
        ),
    )

    def settings(self, data: Mapping[str, Any]) -> Iec62056Settings:
        """A meter's settings from stored or entered data (missing keys: defaults)."""
        address = data.get(DEVICE_ADDRESS) or ""
        if not isinstance(address, (str, int)) or isinstance(address, bool):
            raise ValueError(f"{DEVICE_ADDRESS}: expected text, got {address!r}")
        mode = str(data.get(MODE) or Mode.C.value).strip().upper()
        if mode not in Mode.__members__:
            raise ValueError(f"{MODE}: expected one of A, B, C, D, got {mode!r}")
        return Iec62056Settings(
            device_address=str(address).strip(),
            mode=Mode(mode),
            initial_baudrate=_int(data, INITIAL_BAUDRATE_KEY, 0),
            max_baudrate=_int(data, MAX_BAUDRATE, 0),
            t2_ms=_int(data, T2_MS, DEFAULT_T2_MS),
            wake_up=_bool(data, WAKE_UP),
            echo=_bool(data, ECHO),
            strip_parity=_bool(data, STRIP_PARITY),
            poll_delay_ms=_int(data, POLL_DELAY_MS, DEFAULT_POLL_DELAY_MS),
            max_readout_bytes=_int(data, MAX_READOUT_BYTES, DEFAULT_MAX_READOUT_BYTES),
        )

    def client(self, bus: Bus, settings: Iec62056Settings, tz: tzinfo) -> Iec62056Client:
        """A client for one meter on ``bus``."""
        return Iec62056Client(bus, settings, tz)

    def unique_id(self, identity: Identity, settings: Iec62056Settings) -> str:
        """Manufacturer and serial number data set; without one, ident and address."""
        if FIELD_SERIAL_ADDRESS in identity.fields:
            return f"{identity.manufacturer}-{identity.serial}"
        return f"{identity.manufacturer}-{identity.model or ''}-{settings.device_address}"

    def identity_record(self, identity: Identity) -> dict[str, Any]:
        """Everything of the identity (all of it is text)."""
        return {
            MANUFACTURER: identity.manufacturer,
            SERIAL: identity.serial,
            MODEL: identity.model,
            FIELDS: dict(identity.fields),
        }

    def stored_identity(self, record: Mapping[str, Any]) -> Identity:
        """The identity :meth:`identity_record` stored."""
        fields = record.get(FIELDS) or {}
        model = record.get(MODEL)
        flag_id = str(record[MANUFACTURER])
        return Identity(
            manufacturer=flag_id,
            serial=str(record[SERIAL]),
            model=None if model is None else str(model),
            fields={str(key): value for key, value in dict(fields).items()},
            manufacturer_name=manufacturer_name(flag_id),
        )

    def precision(self, key: str, reading: Reading | None = None) -> int | None:
        """The digits the meter writes the signal's data sets with, once a readout shows."""
        written = None if reading is None else signal_decimals(reading.data, key)
        return super().precision(key) if written is None else written

    def describe(self, settings: Iec62056Settings) -> str:
        """Device address and mode."""
        address = settings.device_address or "(none)"
        return f"device address {address}, mode {settings.mode.value}"

    def standard_data(self, reading: Reading) -> frozenset[str]:
        """Data sets that already feed one of the standard signals."""
        return standard_addresses(reading.data)
