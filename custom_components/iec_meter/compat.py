"""Typing across the Home Assistant versions we support (2026.5 to the newest).

Both ends run on Python 3.14, yet their flow types differ: 2026.5 types a form's schema as
a voluptuous schema and a repair step's result as ``FlowResult``; from 2026.9 a form's
schema is a probatio schema (voluptuous code keeps working at run time through probatio's
compatibility layer) and a repair step returns ``RepairsFlowResult``. One annotation cannot
name both, so these two are left open to the type checker. Nothing here is imported at run
time beyond voluptuous, so no Home Assistant version fails on a missing name.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

#: A form's schema, as the running Home Assistant types ``data_schema``.
type FormSchema = Any
#: What a repair flow's step returns on the running Home Assistant.
type FixFlowResult = Any


def form_schema(fields: dict[Any, Any]) -> FormSchema:
    """A voluptuous schema, handed to Home Assistant as its form schema."""
    return vol.Schema(fields)
