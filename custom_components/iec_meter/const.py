"""Constants of the Home Assistant side: keys, defaults and utility presets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import logging
from typing import Final

from .protocol.iec102.constants import (
    DEFAULT_INTER_REQUEST_DELAY_MS,
    DEFAULT_RECONNECT_DELAY_MS,
    DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_RETRIES,
)

DOMAIN: Final = "iec_meter"
LOGGER: Final = logging.getLogger(__package__)

SUBENTRY_METER: Final = "meter"

# Connection (config entry data). "device" is a key Home Assistant's usb integration
# recognises when it attributes serial ports to config entries.
CONF_DEVICE: Final = "device"
CONF_BAUDRATE: Final = "baudrate"
CONF_BYTESIZE: Final = "bytesize"
CONF_PARITY: Final = "parity"
CONF_STOPBITS: Final = "stopbits"
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_UTILITY: Final = "utility"

# Options (config entry options).
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_REQUEST_TIMEOUT: Final = "request_timeout"
CONF_RETRIES: Final = "retries"
CONF_INTER_REQUEST_DELAY: Final = "inter_request_delay"
CONF_RECONNECT_DELAY: Final = "reconnect_delay"
CONF_SETTLE_DELAY: Final = "settle_delay"

# Meter (config subentry data).
CONF_NAME: Final = "name"
CONF_LINK_ADDRESS: Final = "link_address"
CONF_POINT_ADDRESS: Final = "point_address"
CONF_PASSWORD: Final = "password"  # noqa: S105 - a key, not a secret
CONF_TIME_ZONE: Final = "time_zone"
CONF_MANUFACTURER_CODE: Final = "manufacturer_code"
CONF_SERIAL_NUMBER: Final = "serial_number"
CONF_STANDARD_DATE: Final = "standard_date"
CONF_PHASES: Final = "phases"

DEFAULT_BAUDRATE: Final = 9600
DEFAULT_BYTESIZE: Final = 8
DEFAULT_PARITY: Final = "N"
DEFAULT_STOPBITS: Final = 1
DEFAULT_TCP_PORT: Final = 4001
DEFAULT_SCAN_INTERVAL_S: Final = 30
MIN_SCAN_INTERVAL_S: Final = 1
MAX_SCAN_INTERVAL_S: Final = 86_400
DEFAULT_SETTLE_DELAY_S: Final = 0.0
MAX_SETTLE_DELAY_S: Final = 30.0
MAX_RETRIES_OPTION: Final = 10
MAX_DELAY_OPTION_MS: Final = 600_000
TIME_ZONES: Final = ("Europe/Madrid", "Atlantic/Canary")

DEFAULT_OPTIONS: Final = {
    CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL_S,
    CONF_REQUEST_TIMEOUT: DEFAULT_REQUEST_TIMEOUT_MS,
    CONF_RETRIES: DEFAULT_RETRIES,
    CONF_INTER_REQUEST_DELAY: DEFAULT_INTER_REQUEST_DELAY_MS,
    CONF_RECONNECT_DELAY: DEFAULT_RECONNECT_DELAY_MS,
    CONF_SETTLE_DELAY: DEFAULT_SETTLE_DELAY_S,
}

#: How often the meter clock is read (it costs two round trips).
CLOCK_READ_INTERVAL: Final = timedelta(minutes=5)
#: Frames kept per meter for diagnostics.
FRAME_LOG_SIZE: Final = 40


@dataclass(frozen=True, slots=True)
class UtilityPreset:
    """Defaults a utility's meters usually have (unconfirmed by a primary source)."""

    parity: str
    point_address: int
    password: int | None


UTILITY_PRESETS: Final = {
    "iberdrola": UtilityPreset(parity="N", point_address=1, password=7),
    "endesa": UtilityPreset(parity="E", point_address=1, password=1),
    "naturgy": UtilityPreset(parity="N", point_address=1, password=1),
    "viesgo": UtilityPreset(parity="N", point_address=1, password=1),
    "other": UtilityPreset(parity="N", point_address=1, password=None),
}
DEFAULT_UTILITY: Final = "other"

#: Names for the manufacturer codes of P_MP_NA_2. No public source maps the codes
#: yet (see protocol notes A.7), so devices show the code until one is confirmed.
MANUFACTURERS: Final[dict[int, str]] = {}
