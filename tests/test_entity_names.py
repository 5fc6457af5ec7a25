"""Entity names fit the device page's row and tell the entities apart, in every language.

The device page cuts a name at about 16-18 characters ("Maximum demand…"), so a long
name hides its end, often the part (L1, Q2, tariff 3) that tells it from its siblings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "iec_meter"
NAME_LIMIT = 20
#: The widest value a name's placeholder takes (the tariff periods P1..P6).
PLACEHOLDERS = {"period": "P6"}
LANGUAGES = ["en", "es"]


def entity_names(language: str) -> dict[str, dict[str, str]]:
    """Per platform, each translation key's name with its placeholders filled in."""
    path = INTEGRATION / "translations" / f"{language}.json"
    entities: dict[str, dict[str, Any]] = json.loads(path.read_text("utf-8"))["entity"]
    return {
        platform: {key: entry["name"].format(**PLACEHOLDERS) for key, entry in keys.items()}
        for platform, keys in entities.items()
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entity_name_fits(language: str) -> None:
    too_long = {
        f"{platform}.{key}": name
        for platform, names in entity_names(language).items()
        for key, name in names.items()
        if len(name) > NAME_LIMIT
    }
    assert too_long == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_entity_names_are_distinct_within_a_platform(language: str) -> None:
    for platform, names in entity_names(language).items():
        assert len(set(names.values())) == len(names), platform


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_names_the_same_entities(language: str) -> None:
    english = entity_names("en")
    names = entity_names(language)
    assert {platform: set(keys) for platform, keys in names.items()} == {
        platform: set(keys) for platform, keys in english.items()
    }
