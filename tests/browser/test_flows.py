"""Every flow of the integration, walked in Chromium as a new user walks it.

Only what a user must type is typed: the defaults must carry the rest. The tests run in
order and build on each other (the meters added first are reconfigured later), in one
logged-in tab. Each asserts that its flow finished and that the entities are there.
"""

from __future__ import annotations

import contextlib
import re

from playwright.async_api import expect
import pytest

from tests.simulator.process import simulator_process

from .conftest import STEP_MS, Env, Ui

pytestmark = pytest.mark.asyncio(loop_scope="session")

IEC102_METER = "Spanish utility meter with IEC 870-5-102 (REE) telemetering"
IEC62056_METER = "Meter with an optical port read by an IEC 62056-21 head"
NETWORK = "Network converter (TCP)"
#: The start of each protocol's own description of the meter step.
METER_TEXT = {
    IEC102_METER: "Iberdrola and Endesa use the last 5 digits of the meter ID",
    IEC62056_METER: "Most meters need only a name",
}


async def start_integration_flow(ui: Ui) -> None:
    """Settings → Devices & services → Add integration → IEC Meter."""
    await ui.open("/config/integrations/dashboard")
    await ui.page.get_by_role("button", name="Add integration").click()
    search = ui.page.get_by_placeholder("Search for a brand name")
    await search.fill("IEC Meter")
    await ui.shot("add integration")
    await ui.page.get_by_text("IEC Meter", exact=True).last.click()


async def open_integration(ui: Ui) -> None:
    """The integration's own page, with its hubs and meters."""
    await ui.open("/config/integrations/integration/iec_meter")
    await expect(ui.page.get_by_text("IEC Meter").first).to_be_visible(timeout=STEP_MS)


async def expect_entity(ui: Ui, device: str, entity: str) -> None:
    """Settings → Entities, searched for ``entity``, lists it under the device ``device``."""
    await ui.open("/config/entities")
    await ui.page.get_by_placeholder(re.compile(r"^Search \d+ entities")).fill(entity)
    await expect(ui.page.get_by_text(entity, exact=True).first).to_be_visible(timeout=STEP_MS)
    await expect(ui.page.get_by_text(device, exact=True).first).to_be_visible()
    await ui.shot(f"entities {device}")


async def start_subentry_flow(ui: Ui, button: str, hub: str) -> None:
    """The integration page's "Add meter" / "Add gateway", for the hub named."""
    await open_integration(ui)
    await ui.page.get_by_role("button", name=button, exact=True).click()
    # With several hubs, Home Assistant asks which one first: a list over the page, whose
    # line for the hub comes after the page's own heading of it.
    named = ui.page.get_by_text(hub, exact=True)
    with contextlib.suppress(AssertionError):
        await expect(named).to_have_count(2, timeout=5_000)
        await ui.shot(f"{button} which hub")
        await named.last.click()


def hub_title(url: str, protocol: str = "IEC 60870-5-102 (REE)") -> str:
    """How a hub is titled on the integration page: protocol and place."""
    return f"{protocol} · {url.removeprefix('socket://')}"


async def add_hub(ui: Ui, protocol: str, url: str, meter: dict[str, str]) -> None:
    """ "Add integration" for a meter of ``protocol`` on the network converter at ``url``.

    Only the meter form's ``meter`` fields are typed; an IEC 102 meter's utility and an
    IEC 62056-21 meter's values are left as offered. The meter form shows its protocol's
    own description.
    """
    host, port = Env.host_port(url)
    await start_integration_flow(ui)
    await ui.choose("Which kind of meter?", protocol)
    if protocol == IEC102_METER:
        await ui.submit("Your utility")
    await ui.choose("How is the meter connected?", NETWORK)
    await ui.typed("Network converter", {"Host": host, "TCP port": port})
    await ui.expect_step("Meter")
    await expect(ui.dialog.get_by_text(METER_TEXT[protocol]).first).to_be_visible()
    await ui.typed("Meter", meter)
    if protocol == IEC62056_METER:
        await ui.submit("Values to show")
    await ui.finish()


async def test_add_iec102_hub(ui: Ui, env: Env) -> None:
    """ "Add integration" for an IEC 102 meter on a network converter."""
    meter = {"Name": "Shop", "Link address": "1", "Read password": "1"}
    await add_hub(ui, IEC102_METER, env.meter_url, meter)
    await expect_entity(ui, "Shop", "Energy import")


async def test_add_iec62056_hub(ui: Ui, env: Env) -> None:
    """ "Add integration" for an IEC 62056-21 meter read through an optical head."""
    await add_hub(ui, IEC62056_METER, env.optical_url, {"Name": "Flat"})
    await expect_entity(ui, "Flat", "Energy import")


async def test_add_meter_on_a_hub(ui: Ui, env: Env) -> None:
    """ "Add meter": a second IEC 102 meter on the same bus."""
    await start_subentry_flow(ui, "Add meter", hub_title(env.meter_url))
    await ui.submit("Your utility")
    await ui.typed("Meter", {"Name": "Garage", "Link address": "2", "Read password": "2"})
    await ui.finish()
    await expect_entity(ui, "Garage", "Energy import")


async def test_reconfigure_meter_shows_its_values(ui: Ui) -> None:
    """ "Reconfigure meter" opens with each meter's values and saves them unchanged.

    The IEC 62056-21 meter then shows "Values to show" with its current ticks: Flat was
    added with the usual ones (Energy import ticked, Energy import tariff 1 not); each
    IEC 102 meter shows "Tariff and prices", saved with its default (no tariff).
    """
    await open_integration(ui)
    meters = await ui.page.get_by_role("button", name="Reconfigure meter").count()
    assert meters >= 3  # Shop, Garage (IEC 102) and Flat (IEC 62056-21)
    values_steps = tariff_steps = 0
    for index in range(meters):
        await open_integration(ui)
        await ui.page.get_by_role("button", name="Reconfigure meter").nth(index).click()
        await ui.expect_step("Reconfigure meter")
        # Every number is filled in with the meter's value (link address, t2, ...).
        for box in await ui.dialog.get_by_role("spinbutton").all():
            assert await box.input_value() != ""
        await ui.submit("Reconfigure meter")
        values = ui.dialog.get_by_text("Values to show", exact=True)
        tariff = ui.dialog.get_by_text("Tariff and prices", exact=True)
        await expect(values.or_(tariff).or_(ui.done).first).to_be_visible(timeout=STEP_MS)
        if await tariff.count():
            tariff_steps += 1
            await ui.submit("Tariff and prices")  # "None" as offered: no cost statistics
        elif await values.count():
            values_steps += 1
            ticked = ui.dialog.get_by_role("checkbox", name="Energy import", exact=True)
            unticked = ui.dialog.get_by_role("checkbox", name="Energy import tariff 1", exact=True)
            await expect(ticked).to_be_checked()
            await expect(unticked).not_to_be_checked()
            await ui.submit("Values to show")
        await ui.finish()
    assert values_steps == 1  # only Flat's protocol labels its values
    assert tariff_steps == meters - 1  # only the IEC 102 meters have a load profile


async def test_options(ui: Ui, env: Env) -> None:
    """A connection's options ("Configure") save with their defaults."""
    await open_integration(ui)
    await ui.page.get_by_role("button", name="Configure").first.click()
    await ui.submit("Polling and timing")
    await ui.finish()


async def test_add_gateway(ui: Ui, env: Env) -> None:
    """ "Add gateway" with its defaults; the gateway's entities appear."""
    await start_subentry_flow(ui, "Add gateway", hub_title(env.meter_url))
    await ui.submit("Pass-through gateway")
    await ui.finish()
    await open_integration(ui)
    await expect(ui.page.get_by_text(re.compile(r"Gateway 127\.0\.0\.1:\d+")).first).to_be_visible()
    await ui.shot("gateway added")


async def test_password_repair(ui: Ui) -> None:
    """A meter whose password changed raises a repair; the user types the new one."""
    serial = ("--serial-number", "48399999", "--link-address", "7")
    async with simulator_process(
        "iec102", "--tcp", "127.0.0.1:0", "--password", "3", *serial
    ) as url:
        meter = {"Name": "Office", "Link address": "7", "Read password": "3"}
        await add_hub(ui, IEC102_METER, url, meter)
    # The utility changed the password: the same meter now wants 4.
    host, port = Env.host_port(url)
    async with simulator_process("iec102", "--tcp", f"{host}:{port}", "--password", "4", *serial):
        await ui.open("/config/repairs")
        issue = ui.page.get_by_text("Meter Office rejected its password").first
        # The next poll (every 30 s) finds the password rejected.
        await expect(issue).to_be_visible(timeout=120_000)
        await ui.shot("repair listed")
        await issue.click()
        # The step's description (issues.auth_failed.fix_flow.step.password.description),
        # which both frontends show with the issue's placeholders.
        described = ui.dialog.get_by_text(
            re.compile("Office no longer accepts its read password")
        ).first
        await expect(described).to_be_visible(timeout=STEP_MS)
        await ui.typed("New password for Office", {"Read password": "4"})
        await ui.finish()
        await ui.open("/config/repairs")
        await expect(ui.page.get_by_text("Meter Office rejected its password")).to_have_count(
            0, timeout=STEP_MS
        )
        await ui.shot("repair fixed")
