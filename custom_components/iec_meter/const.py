"""Constants of the Home Assistant side: keys, defaults and limits of the forms."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from .core.timing import (
    DEFAULT_CONTENT_TIMEOUT_MS,
    DEFAULT_INTER_REQUEST_DELAY_MS,
    DEFAULT_RECONNECT_DELAY_MS,
    DEFAULT_RETRIES,
)

DOMAIN: Final = "iec_meter"
LOGGER: Final = logging.getLogger(__package__)

SUBENTRY_METER: Final = "meter"
SUBENTRY_GATEWAY: Final = "gateway"

# Connection (config entry data). "device" is a key Home Assistant's usb integration
# recognises when it attributes serial ports to config entries.
CONF_PROTOCOL: Final = "protocol"
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
CONF_CONTENT_TIMEOUT: Final = "content_timeout"
CONF_SETTLE_DELAY: Final = "settle_delay"
#: The meter's own records (IEC 102): which load profile to import into statistics
#: ("off", "hourly" or "quarter-hourly"), how many days back the first import reads,
#: and the contract (1-3) whose billing periods become sensors (0: no billing sensors).
CONF_PROFILE: Final = "profile"
CONF_BACKFILL_DAYS: Final = "backfill_days"
CONF_BILLING_CONTRACT: Final = "billing_contract"
PROFILE_OFF: Final = "off"
DEFAULT_PROFILE: Final = "hourly"
DEFAULT_BACKFILL_DAYS: Final = 90
MAX_BACKFILL_DAYS: Final = 3660
DEFAULT_BILLING_CONTRACT: Final = 1
PROFILE_CHOICES: Final = (PROFILE_OFF, "hourly", "quarter-hourly")
BILLING_CONTRACT_CHOICES: Final = ("0", "1", "2", "3")
#: How long a gateway client may hold the line before the meters' entities become
#: unavailable ("out of service"); 0 keeps their last values however long it takes.
CONF_LOCK_LIMIT: Final = "lock_limit"

# Gateway (config subentry data).
CONF_INTERFACE: Final = "interface"
CONF_PRIORITY: Final = "priority"
CONF_INACTIVITY_TIMEOUT: Final = "inactivity_timeout"

# Meter (config subentry data), besides the driver's own settings and identity.
CONF_NAME: Final = "name"
CONF_TIME_ZONE: Final = "time_zone"
#: Signals the meter delivered when it was set up (no entities for the others).
CONF_SIGNALS: Final = "signals"
#: Every standard signal the meter sent at setup; those not in ``signals`` (not ticked)
#: get entities that start disabled.
CONF_OFFERED: Final = "offered_signals"
#: Labelled values (IEC 62056-21 addresses) the user chose as extra sensors.
CONF_DATA: Final = "data"
#: Before signals were recorded: 1 for a meter without L2/L3 values.
CONF_PHASES: Final = "phases"
#: Auto-demotion of a meter that keeps failing (see core/demotion.py).
CONF_AUTO_DEMOTION: Final = "auto_demotion"
CONF_DEMOTION_FAILURES: Final = "demotion_failures"
CONF_DEMOTION_DELAY: Final = "demotion_delay"

MIN_SCAN_INTERVAL_S: Final = 1
MAX_SCAN_INTERVAL_S: Final = 86_400
DEFAULT_SETTLE_DELAY_S: Final = 0.0
MAX_SETTLE_DELAY_S: Final = 30.0
MAX_RETRIES_OPTION: Final = 10
MAX_DELAY_OPTION_MS: Final = 600_000
MAX_CONTENT_TIMEOUT_MS: Final = 3_600_000

#: Options every protocol shares; scan interval and request timeout come from the driver.
COMMON_OPTIONS: Final = {
    CONF_RETRIES: DEFAULT_RETRIES,
    CONF_INTER_REQUEST_DELAY: DEFAULT_INTER_REQUEST_DELAY_MS,
    CONF_RECONNECT_DELAY: DEFAULT_RECONNECT_DELAY_MS,
    CONF_CONTENT_TIMEOUT: DEFAULT_CONTENT_TIMEOUT_MS,
    CONF_SETTLE_DELAY: DEFAULT_SETTLE_DELAY_S,
    CONF_LOCK_LIMIT: 0,
}

#: Options of a connection whose protocol reads the meters' records.
RECORD_OPTIONS: Final[dict[str, str | int]] = {
    CONF_PROFILE: DEFAULT_PROFILE,
    CONF_BACKFILL_DAYS: DEFAULT_BACKFILL_DAYS,
    CONF_BILLING_CONTRACT: DEFAULT_BILLING_CONTRACT,
}

#: How often the meter clock is read (it costs two round trips).
CLOCK_READ_INTERVAL: Final = timedelta(minutes=5)
#: How long unloading waits for a meter to confirm the logout.
LOGOUT_TIMEOUT_S: Final = 5
