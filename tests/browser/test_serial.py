"""An IEC 62056-21 meter on a serial port, added in Chromium as a user adds it, in English
and in Spanish.

The port is a pseudo-terminal served by the simulator (its own process, so it answers
Home Assistant's polls between the steps too). The Spanish walk sets the user's profile
language (as the profile page's picker does) and the system language (which names the
entities), and puts both back afterwards. Each walk keeps its screenshots in a folder of
its own (serial-en, serial-es) under the run's folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
import functools
import json
from pathlib import Path
import re
from typing import Any, Literal

from playwright.async_api import Browser, Locator, expect
import pytest
import pytest_asyncio

from tests.simulator.process import simulator_process

from .conftest import SHOTS, SPANISH, STEP_MS, Env, Ui, Words

pytestmark = pytest.mark.asyncio(loop_scope="session")

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / "iec_meter" / "translations"
#: Meter name, serial number (another meter each walk) and the frontend's words.
WALKS = {"en": ("House", "62056001", Words()), "es": ("Casa", "62056002", SPANISH)}


def pty_meter(serial: str) -> contextlib.AbstractAsyncContextManager[str]:
    """An IEC 62056-21 simulator (mode C) on a pseudo-terminal: its path while the block runs."""
    return simulator_process("iec62056", "--pty", "--mode", "C", "--no-pace", "--serial", serial)


async def call_ws(ui: Ui, message: dict[str, Any]) -> Any:
    """A websocket command on the frontend's own connection, as the logged-in user."""
    return await ui.page.evaluate(
        "message => document.querySelector('home-assistant').hass.callWS(message)", message
    )


async def set_languages(ui: Ui, language: str) -> None:
    """The system language, and the user's profile language (saved to their profile)."""
    await call_ws(ui, {"type": "config/core/update", "language": language})
    # What the profile page's language picker does (ha-pick-language-row).
    await ui.page.evaluate(
        """language => document.querySelector('home-assistant').dispatchEvent(
            new CustomEvent('hass-language-select', {detail: language, bubbles: true}))""",
        language,
    )
    await expect(ui.page.locator("html")).to_have_attribute("lang", language, timeout=STEP_MS)


#: What a line of an open dropdown is, in one frontend or another.
ROLES: tuple[Literal["option", "menuitem", "menuitemradio"], ...] = (
    "option",
    "menuitem",
    "menuitemradio",
)


async def select(ui: Ui, label: str, option: str) -> None:
    """Open the dropdown ``label`` of the form and pick ``option``, as a user picks."""
    name = re.compile(rf"^{re.escape(label)}\*?$")
    await ui.dialog.get_by_label(name).first.click()
    # The open list's line (an option or a menu item, as the frontend's version has it).
    lines = [ui.dialog.get_by_role(role, name=option, exact=True) for role in ROLES]
    await functools.reduce(Locator.or_, lines).first.click()


async def type_port(ui: Ui, label: str, path: str) -> None:
    """Type a port the list does not offer into the port field, and take it.

    An older frontend shows a text box with suggestions; 2026.10 a picker whose search
    box takes a custom item.
    """
    name = re.compile(rf"^{re.escape(label)}\*?$")
    if await ui.dialog.get_by_role("textbox", name=name).count():
        await ui.fill(label, path)
        await ui.page.keyboard.press("Enter")
        return
    await ui.dialog.get_by_label(name).first.click()
    await ui.dialog.get_by_role("textbox").first.fill(path)
    await ui.shot("port typed")
    # The list's "Add custom item" line, which quotes what was typed.
    await ui.dialog.get_by_text(f'"{path}"').first.click()


async def open_device(ui: Ui, name: str) -> None:
    """The device page of the meter named ``name`` (once the frontend knows the device)."""
    found = await ui.page.wait_for_function(
        """name => Object.values(document.querySelector('home-assistant').hass.devices)
            .find(device => device.name === name)?.id""",
        arg=name,
        timeout=STEP_MS,
    )
    await ui.open(f"/config/devices/device/{await found.json_value()}")


async def walk(ui: Ui, name: str, path: str, strings: dict[str, Any]) -> None:
    """Add integration → IEC 62056-21 → serial port → meter → values → its device page."""
    step = strings["config"]["step"]
    serial = step["serial_iec62056"]
    await ui.open("/config/integrations/dashboard")
    await ui.page.get_by_role("button", name=ui.words.add_integration).click()
    await ui.page.get_by_placeholder(ui.words.search_brand).fill("IEC Meter")
    await ui.shot("add integration")
    await ui.page.get_by_text("IEC Meter", exact=True).last.click()
    await ui.choose(step["user"]["title"], step["user"]["menu_options"]["iec62056"])
    await ui.choose(step["connection"]["title"], step["connection"]["menu_options"]["serial"])
    await ui.expect_step(serial["title"])
    await expect(ui.dialog.get_by_text(serial["description"][:40]).first).to_be_visible()
    await type_port(ui, serial["data"]["device"], path)
    # Linux pseudo-terminals refuse parity once reopened: 8N1 instead of the offered 7E1.
    await select(ui, serial["data"]["bytesize"], "8")
    await select(ui, serial["data"]["parity"], strings["selector"]["parity"]["options"]["none"])
    await ui.typed(serial["title"], {})
    meter = step["meter_iec62056"]
    await ui.expect_step(meter["title"])
    await expect(ui.dialog.get_by_text(meter["description"][:30]).first).to_be_visible()
    await ui.typed(meter["title"], {meter["data"]["name"]: name})
    await ui.submit(step["values"]["title"])
    await ui.finish()
    await open_device(ui, name)
    energy = strings["entity"]["sensor"]["active_energy_import"]["name"]
    await expect(ui.page.get_by_text(energy, exact=True).first).to_be_visible(timeout=STEP_MS)
    # A read value with its unit (e.g. "12,345.000 kWh"; "12.345,000 kWh" in Spanish).
    await expect(ui.page.locator("body")).to_contain_text(re.compile(r"\d[.,]\d{3}\s?kWh"))
    await ui.shot(f"device {name}")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def ports() -> AsyncIterator[contextlib.AsyncExitStack]:
    """Where each walk opens its meter's pty: kept to the end (each on a path of its own)."""
    async with contextlib.AsyncExitStack() as stack:
        yield stack


@pytest.mark.parametrize("language", list(WALKS))
async def test_add_iec62056_meter_on_a_serial_port(
    browser: Browser, env: Env, ports: contextlib.AsyncExitStack, language: str
) -> None:
    """ "Add integration" for an IEC 62056-21 meter on a serial port, in ``language``."""
    name, serial, words = WALKS[language]
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    ui = Ui(page, env, words=words, folder=SHOTS / f"serial-{language}")
    try:
        await ui.log_in()
        if language != "en":
            await set_languages(ui, language)
        path = await ports.enter_async_context(pty_meter(serial))
        await walk(ui, name, path, strings)
    except Exception:
        print(f"\nscreenshot of the failure: {await ui.shot('FAILED')}")
        raise
    finally:
        if language != "en":
            await call_ws(ui, {"type": "config/core/update", "language": "en"})
            await call_ws(ui, {"type": "frontend/set_user_data", "key": "language", "value": None})
        await context.close()
