"""IEC Meter: read electricity meters locally (IEC 60870-5-102 REE, IEC 62056-21).

A config entry is a connection (serial port, optical probe or TCP converter) speaking one
protocol; each of its config subentries is a meter on that connection with its own
device and coordinator.

The protocol core (:mod:`.core`) runs without Home Assistant: the ``read`` command
(``python -m custom_components.iec_meter read``), the simulator and the benchmarks
import this package with only serialx installed. So the Home Assistant entry points are
imported from :mod:`.hub` only when Home Assistant is the one loading the integration
(it has always imported itself first); the loader then finds them here as usual.
"""

from __future__ import annotations

import sys

# The other way (no Home Assistant) runs in a subprocess: tests/test_read_command.py.
if "homeassistant" in sys.modules:  # pragma: no branch
    from .hub import (
        async_migrate_entry,
        async_remove_config_entry_device,
        async_setup_entry,
        async_unload_entry,
    )

    __all__ = [
        "async_migrate_entry",
        "async_remove_config_entry_device",
        "async_setup_entry",
        "async_unload_entry",
    ]
