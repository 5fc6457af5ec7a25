"""Typing across the Home Assistant versions we support (2026.2 to the newest).

Home Assistant 2026.3 and later need Python 3.14, so for the type checker the Python
version tells the Home Assistant range: on 3.14, form schemas are typed as probatio
schemas (voluptuous code keeps working at run time through probatio's compatibility
layer) and repair flows return ``RepairsFlowResult``. Nothing here is imported at run
time, so an older or newer Home Assistant never fails on a missing name.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

import voluptuous as vol

if TYPE_CHECKING:
    if sys.version_info >= (3, 14):
        from homeassistant.components.repairs import RepairsFlowResult
        import probatio

        FixFlowResult = RepairsFlowResult
        FormSchema = probatio.Schema
    else:
        from homeassistant.data_entry_flow import FlowResult

        FixFlowResult = FlowResult
        # 2026.2 types data_schema as a plain voluptuous schema: anything goes.
        FormSchema = Any


def form_schema(fields: dict[Any, Any]) -> FormSchema:
    """A voluptuous schema, typed as the running Home Assistant's form schema."""
    return cast("FormSchema", vol.Schema(fields))
