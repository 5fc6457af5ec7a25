"""The frontend's rules for a served form, replayed in Python.

Home Assistant's frontend (``computeInitialHaFormData`` and ``step-flow-form``'s submit
check, read in the 2026.4 and 2026.9 frontends) builds a form's initial data from the
serialized schema: a field's suggested value, else its default, else for a section the
initial data of its fields, else for a required field a blank of its type; it refuses to
send a form whose required fields are blank, inside sections too. A section that has a
default of its own is started from that default as a whole, so the defaults of the fields
inside it are never filled in and the user is told to fill them: that is how a form the
flow API accepts can be one a user cannot send. The initial-data rule is replayed here.
"""

from __future__ import annotations

from typing import Any

from homeassistant.data_entry_flow import section
from homeassistant.helpers import config_validation as cv
import voluptuous_serialize


def _custom(schema: Any) -> Any:
    """Home Assistant's serializer, with sections done here.

    From 2026.9 Home Assistant serializes a section's inner schema with probatio, which
    cannot read the plain voluptuous schemas that tests (without Home Assistant's
    bootstrap) build; voluptuous-serialize renders them as the frontend receives them.
    """
    if isinstance(schema, section):
        return {
            "type": "expandable",
            "schema": serialized(schema.schema),
            "expanded": not schema.options["collapsed"],
        }
    result = cv.custom_serializer(schema)
    # From 2026.9 its "cannot" is probatio's marker, which voluptuous-serialize does not know.
    return result if isinstance(result, dict) else voluptuous_serialize.UNSUPPORTED


def serialized(schema: Any) -> list[dict[str, Any]]:
    """The schema as the frontend receives it."""
    fields: list[dict[str, Any]] = voluptuous_serialize.convert(schema, custom_serializer=_custom)
    return fields


def _blank(field: dict[str, Any]) -> Any:
    """What the frontend puts in a required field that has no default."""
    kind = field.get("type")
    if kind == "boolean":
        return False
    if kind == "string":
        return ""
    selector = field.get("selector") or {}
    if "boolean" in selector:
        return False
    if "number" in selector:
        return (selector["number"] or {}).get("min", 0)
    if "select" in selector:
        options = (selector["select"] or {}).get("options") or []
        if options:
            first = options[0]
            value = first if isinstance(first, str) else first["value"]
            return [value] if selector["select"].get("multiple") else value
        return None
    if "text" in selector or "serial_port" in selector:
        return ""
    return None


def initial_data(schema: list[dict[str, Any]]) -> dict[str, Any]:
    """The data the frontend starts the form with."""
    data: dict[str, Any] = {}
    for field in schema:
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            data[field["name"]] = suggested
        elif "default" in field:
            data[field["name"]] = field["default"]
        elif field.get("type") == "expandable":
            inner = initial_data(field["schema"])
            if field.get("required") or inner:
                data[field["name"]] = inner
        elif field.get("required"):
            blank = _blank(field)
            if blank is not None:
                data[field["name"]] = blank
    return data


def defaults_lost(schema: list[dict[str, Any]], data: dict[str, Any]) -> list[str]:
    """Fields whose default the initial data does not carry (so the user would retype)."""
    lost: list[str] = []
    for field in schema:
        if field.get("type") == "expandable":
            inner = data.get(field["name"])
            if inner is None and not field.get("required"):
                inner = {}
            lost += [f"{field['name']}.{name}" for name in defaults_lost(field["schema"], inner)]
        elif "default" in field and field["name"] not in data:
            lost.append(field["name"])
    return lost
