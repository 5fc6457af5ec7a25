"""Chromium, driven by Playwright, against a running Home Assistant (scripts/browser-test).

scripts/demo --browser starts Home Assistant with the onboarding done (user demo / demo)
and the simulated meters, and passes their addresses in the environment. Debian's Chromium
is used (``BROWSER`` or /usr/bin/chromium); Playwright never downloads a browser of its own.
Every step writes a screenshot to the folder printed at the start, and a failing test
writes one of what the user saw when it failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
import os
from pathlib import Path
import re
import tempfile

from playwright.async_api import Browser, Locator, Page, async_playwright, expect
import pytest
import pytest_asyncio

#: The first Chromium of these that exists is driven.
CHROMIUM = (os.environ.get("BROWSER", ""), "/usr/bin/chromium", "/usr/bin/chromium-browser")
#: As the machine's network is closed: no background fetches that fail by the dozen.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
#: How long one step may take in the browser (a meter read over TCP is well inside).
STEP_MS = 30_000

SHOTS = Path(
    os.environ.get("BROWSER_SHOTS") or tempfile.mkdtemp(prefix="iec_meter-browser-")
).resolve()


def pytest_report_header() -> str:
    """Say where the screenshots go before anything runs."""
    return f"browser screenshots: {SHOTS}"


@dataclass
class Env:
    """Where Home Assistant and the simulated meters are."""

    url: str
    meter_url: str
    optical_url: str
    config_dir: Path

    @staticmethod
    def host_port(url: str) -> tuple[str, str]:
        """``socket://host:port`` as the network form asks for it."""
        host, port = url.removeprefix("socket://").rsplit(":", 1)
        return host, port


@pytest.fixture(scope="session")
def env() -> Env:
    """The environment scripts/demo --browser set up."""
    return Env(
        os.environ["HA_URL"].rstrip("/"),
        os.environ["METER_URL"],
        os.environ["OPTICAL_URL"],
        Path(os.environ["HA_CONFIG"]),
    )


def _chromium() -> str:
    for path in CHROMIUM:
        if path and Path(path).is_file():
            return path
    pytest.fail("no Chromium found: scripts/browser-test installs Debian's chromium package")


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole run."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {SHOTS}")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass(frozen=True)
class Words:
    """The frontend's own words a walk clicks, in the user's language."""

    submit: str = "Submit"
    #: The button that closes a finished flow: "Finish" (a subentry or an older frontend),
    #: "Skip and finish" (a new entry's naming step, 2026.10) or "Close" (an abort).
    finish: re.Pattern[str] = re.compile(r"^(Finish|Skip and finish|Close)$")
    add_integration: str = "Add integration"
    search_brand: str = "Search for a brand name"


#: Spanish, as the frontend's es translations say it (ui.panel.config.integrations.*).
SPANISH = Words(
    submit="Enviar",
    finish=re.compile(r"^(Terminar|Saltar y terminar|Cerrar)$"),
    add_integration="Añadir integración",
    search_brand="Buscar un nombre de marca",
)


@dataclass
class Ui:
    """What a user does in Home Assistant's frontend, one step at a time."""

    page: Page
    env: Env
    shots: int = 0
    words: Words = field(default_factory=Words)
    #: Where this tab's screenshots go.
    folder: Path = SHOTS

    async def shot(self, name: str) -> Path:
        """A screenshot of the page as it is now, numbered in the order taken."""
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.shots:02d}-{slug}.png"
        await self.page.screenshot(path=path)
        return path

    async def open(self, path: str) -> None:
        """Go to a page of Home Assistant."""
        await self.page.goto(f"{self.env.url}{path}")

    async def log_in(self, username: str = "demo", password: str = "demo") -> None:
        """The login page, as the demo's owner."""
        await self.open("/")
        await self.page.get_by_role("textbox", name="Username").fill(username)
        await self.page.get_by_role("textbox", name="Password", exact=True).fill(password)
        await self.page.get_by_role("button", name="Log in").click()
        await self.page.wait_for_url(re.compile(r".*/(home|lovelace).*"), timeout=STEP_MS)

    @property
    def dialog(self) -> Locator:
        """The open flow dialog."""
        return self.page.locator("dialog-data-entry-flow")

    async def expect_step(self, title: str) -> None:
        """The dialog shows the step with this title."""
        await expect(self.dialog.get_by_text(title, exact=True).first).to_be_visible(
            timeout=STEP_MS
        )

    async def choose(self, title: str, option: str) -> None:
        """In the menu step ``title``, pick ``option``."""
        await self.expect_step(title)
        await self.shot(title)
        await self.dialog.get_by_text(option).first.click()

    async def fill(self, label: str, value: str) -> None:
        """Type into a field of the form, as a user types."""
        # A required field's label ends in "*".
        name = re.compile(rf"^{re.escape(label)}\*?$")
        # A password box has no role: found by its label.
        field = (
            self.dialog.get_by_role("textbox", name=name)
            .or_(self.dialog.get_by_role("spinbutton", name=name))
            .or_(self.dialog.get_by_label(name))
        )
        await field.fill(value)

    async def submit(self, title: str, **fields: str) -> None:
        """On the form ``title``, type only ``fields`` (label: text) and press Submit."""
        await self.expect_step(title)
        for label, value in fields.items():
            await self.fill(label.replace("_", " "), value)
        await self.shot(title)
        await self.dialog.get_by_role("button", name=self.words.submit).click()

    async def typed(self, title: str, values: dict[str, str]) -> None:
        """``submit`` for labels that are not Python names."""
        await self.expect_step(title)
        for label, value in values.items():
            await self.fill(label, value)
        await self.shot(title)
        await self.dialog.get_by_role("button", name=self.words.submit).click()

    @property
    def done(self) -> Locator:
        """The button that closes a finished flow (not the header's "Close" x)."""
        # The header's x is an icon button named by its aria-label or title.
        return self.dialog.get_by_role("button", name=self.words.finish).and_(
            self.dialog.locator("button:not([aria-label]):not([title='Close'])")
        )

    async def finish(self, text: str | None = None) -> None:
        """The flow ended (showing ``text`` where given); close its dialog."""
        done = self.done
        await expect(done).to_be_visible(timeout=STEP_MS)
        if text is not None:
            await expect(self.dialog.get_by_text(text).first).to_be_visible()
        await self.shot(f"done {text or ''}")
        await done.click()
        await expect(done).to_be_hidden(timeout=STEP_MS)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def ui(browser: Browser, env: Env) -> AsyncIterator[Ui]:
    """One logged-in tab for the whole walk (the flows build on each other)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = await context.new_page()
    page.set_default_timeout(STEP_MS)
    user = Ui(page, env)
    try:
        await user.log_in()
    except Exception:
        print(f"\nscreenshot of the failed login: {await user.shot('FAILED login')}")
        raise
    try:
        yield user
    finally:
        await context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep a screenshot of what the user saw when a step failed."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


FAILED = pytest.StashKey[bool]()


@pytest_asyncio.fixture(loop_scope="session", autouse=True)
async def _screenshot_on_failure(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    yield
    if request.node.stash.get(FAILED, False) and "ui" in request.fixturenames:
        ui: Ui = request.getfixturevalue("ui")
        path = await ui.shot(f"FAILED {request.node.name}")
        print(f"\nscreenshot of the failure: {path}")
