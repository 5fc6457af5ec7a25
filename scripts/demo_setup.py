"""Helper of ``scripts/demo``: run Home Assistant and set it up through its own APIs.

Run with the Python of the venv Home Assistant is installed in::

    python scripts/demo_setup.py requirements --config-dir DIR
    python scripts/demo_setup.py hass -c DIR [hass options...]
    python scripts/demo_setup.py configure --url URL --meter-url socket://HOST:PORT [--check 90]

``requirements`` installs (with pip, under Home Assistant's own package constraints) the
requirements of every integration the demo's Home Assistant sets up, so that it can run
with ``--skip-pip``. ``hass`` starts Home Assistant (also on Python 3.13.0/3.13.1, which
Home Assistant 2026.2 refuses although it runs there). ``configure`` does the onboarding
(user ``demo`` / ``demo``), adds the IEC 102 meter and the IEC 62056-21 meter through the
integration's config flow and points the Energy dashboard at the statistics imported from the
IEC 102 meter's own hourly load profile (import and export), each only when not done yet;
with ``--gateway-port`` it adds a pass-through gateway on that port to the IEC 102 meter's
hub, so the ``read`` command reaches the meter while Home Assistant holds it. With
``--check`` it then waits for the meters' sensors to carry live values and for the
profile's last 90 days to be in the recorder, and runs ``--read-command`` (the ``read``
command the demo prints) through the gateway, expecting the meter's serial number.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import importlib
import itertools
import json
import logging
import math
import os
from pathlib import Path
import shlex
import subprocess
import sys
import sysconfig
import time
from typing import Any

import aiohttp

DOMAIN = "iec_meter"
CLIENT_NAME = "IEC meter demo"
# unique_id suffix -> what the check needs of it.
WANTED_SENSORS = {
    "_active_energy_import": "import energy",
    "_active_energy_export": "export energy",
    "_active_power": "active power",
    "_voltage_l1": "voltage L1",
}
# The same of the IEC 62056-21 meter, plus a data set chosen by its address.
WANTED_OPTICAL_SENSORS = {
    "_active_energy_import": "import energy",
    "_active_power": "active power",
    "_frequency": "frequency",
    "_data_C.1.0": "serial number",
}
#: Series of the load profile the Energy dashboard's grid uses (external statistics).
PROFILE_IMPORT = "_active_energy_import"
PROFILE_EXPORT = "_active_energy_export"
#: Days the demo's first profile import reads back (the integration's default), and the
#: share of their hours that must be in the recorder (the simulated meter leaves a gap
#: and flags an invalid and an incomplete hour in that time: those hours are not written).
BACKFILL_DAYS = 90
BACKFILL_SHARE = 0.98
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)
#: A hub's pass-through gateways are subentries of this type; each has an "in use" sensor.
GATEWAY = "gateway"
GATEWAY_IN_USE = "_gateway_in_use"
GATEWAY_HOST = "127.0.0.1"
#: How long the ``read`` command may take through the gateway: the gateway first waits
#: for Home Assistant's exchange to end and logs its session out.
READ_TIMEOUT = 120.0
#: The repository, where the ``read`` command runs (``python -m custom_components...``).
ROOT = Path(__file__).resolve().parents[1]
#: A websocket unused this long is replaced (see Api.ws).
WS_IDLE_SECONDS = 30
ONBOARDING_STEPS = ("user", "core_config", "analytics", "integration")
# Integrations whose config flows finishing the onboarding starts.
ONBOARDING_DOMAINS = ("google_translate", "met", "radio_browser", "shopping_list")


class DemoError(Exception):
    """A set-up step failed; the message says which and why."""


def log(message: str) -> None:
    """Progress line on stderr."""
    print(f"[demo] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- requirements


def _integration_dirs(config_dir: Path) -> list[Path]:
    import homeassistant.components  # noqa: PLC0415  (heavy: only for this command)

    return [config_dir / "custom_components", Path(homeassistant.components.__path__[0])]


def _manifest(domain: str, dirs: Sequence[Path]) -> dict[str, Any] | None:
    for base in dirs:
        path = base / domain / "manifest.json"
        if path.is_file():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
    return None


def _service_helper_domains() -> set[str]:
    """Integrations that Home Assistant's service helper imports, set up or not.

    The frontend cannot load without the websocket command ``get_services``, which
    imports these (``_base_components`` in homeassistant/helpers/service.py) to check
    services.yaml files: ai_task -> conversation -> hassil, assist_satellite ->
    assist_pipeline -> pymicro-vad, ...
    """
    from homeassistant.helpers import service  # noqa: PLC0415

    tree = ast.parse(Path(service.__file__).read_text(encoding="utf-8"))
    domains: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_base_components":
            for item in ast.walk(node):
                if isinstance(item, ast.ImportFrom) and item.module == "homeassistant.components":
                    domains.update(alias.name for alias in item.names)
    return domains


def _check_service_helper_imports() -> None:
    """Warn when the frontend will not load (see :func:`_service_helper_domains`)."""
    failed = []
    logging.disable(logging.CRITICAL)  # e.g. camera logs that libturbojpeg is missing
    for domain in sorted(_service_helper_domains()):
        try:
            importlib.import_module(f"homeassistant.components.{domain}")
        except ImportError as err:
            failed.append(f"{domain} ({err})")
    logging.disable(logging.NOTSET)
    if failed:
        log("WARNING: Home Assistant's UI will not load, it needs: " + "; ".join(failed))


def needed_requirements(config_dir: Path) -> list[str]:
    """Requirements of the integrations Home Assistant sets up for ``config_dir``.

    That is what Home Assistant's bootstrap sets up: its core and default integrations,
    the top-level keys of configuration.yaml, the domains of existing config entries
    and our integration, each with its dependencies.
    """
    from homeassistant import bootstrap  # noqa: PLC0415
    from homeassistant.util import package  # noqa: PLC0415
    from homeassistant.util.yaml import loader  # noqa: PLC0415

    config = loader.load_yaml(str(config_dir / "configuration.yaml")) or {}
    domains = {str(key).split(" ", 1)[0] for key in config}
    domains |= bootstrap.CORE_INTEGRATIONS | bootstrap.DEFAULT_INTEGRATIONS | {DOMAIN}
    entries_file = config_dir / ".storage" / "core.config_entries"
    if entries_file.is_file():
        entries = json.loads(entries_file.read_text(encoding="utf-8"))
        domains |= {entry["domain"] for entry in entries["data"]["entries"]}

    domains |= _service_helper_domains()

    dirs = _integration_dirs(config_dir)
    seen: set[str] = set()
    todo = sorted(domains)
    requirements: list[str] = []
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = _manifest(domain, dirs)
        if manifest is None:
            continue
        requirements.extend(manifest.get("requirements", []))
        todo.extend(manifest.get("dependencies", []))
    return sorted({req for req in requirements if not package.is_installed(req)})


def _pip_install(requirements: Sequence[str]) -> tuple[bool, str]:
    """Pip-install under Home Assistant's constraints; success and pip's output."""
    import homeassistant  # noqa: PLC0415

    constraints = Path(homeassistant.__path__[0]) / "package_constraints.txt"
    command = [sys.executable, "-m", "pip", "install", "--prefer-binary", "-c", str(constraints)]
    if sys.version_info[:3] < (3, 13, 2):  # as scripts/setup does for HA 2026.2
        command.append("--ignore-requires-python")
    done = subprocess.run(  # noqa: S603
        [*command, *requirements], capture_output=True, text=True, check=False
    )
    return done.returncode == 0, done.stdout + done.stderr


def cmd_requirements(args: argparse.Namespace) -> int:
    """Install what the integrations need and the venv lacks.

    A requirement that cannot be installed (e.g. no wheel for this Python and no
    compiler headers) is noted in the venv and not tried again: Home Assistant then only
    logs that the integration needing it cannot be set up. Exit status 3 tells that
    some could not be installed for want of Python's C headers.
    """
    unbuildable_file = Path(sys.prefix) / ".iec_meter-demo-unbuildable.txt"
    unbuildable = set()
    # With the C headers (now) there, what failed before is tried again.
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if unbuildable_file.is_file() and not headers.is_file():
        unbuildable = set(unbuildable_file.read_text(encoding="utf-8").split())
    needed = needed_requirements(Path(args.config_dir))
    missing = [req for req in needed if req not in unbuildable]
    skipped = sorted(set(needed) - set(missing))
    if skipped:
        log(f"not installable here (tried before): {' '.join(skipped)}")
    if not missing:
        if skipped:
            if args.ui:
                _check_service_helper_imports()
            return 3
        log("Home Assistant's integration requirements are installed")
        return 0
    log(f"installing {' '.join(missing)}")
    started = time.monotonic()
    ok, output = _pip_install(missing)
    if not ok:
        log("installing them together failed; one by one now")
        for req in missing:
            ok, output = _pip_install([req])
            if not ok:
                last = [line for line in output.splitlines() if line.strip()][-1:]
                log(f"cannot install {req}: {' '.join(last)}")
                unbuildable.add(req)
        unbuildable_file.write_text("\n".join(sorted(unbuildable)) + "\n", encoding="utf-8")
    log(f"requirements done in {time.monotonic() - started:.0f}s")
    if args.ui:
        _check_service_helper_imports()
    return 3 if unbuildable & set(needed) and not headers.is_file() else 0


# --------------------------------------------------------------------------- hass


def cmd_hass(argv: list[str]) -> int:
    """Run Home Assistant's own entry point with ``argv``."""
    from homeassistant import __main__ as hass_main  # noqa: PLC0415

    # Home Assistant 2026.2 asks for Python >= 3.13.2 but runs on 3.13.0/3.13.1, the
    # Python scripts/setup accepts for the floor venv (see the note there).
    if sys.version_info[:3] < hass_main.REQUIRED_PYTHON_VER and sys.version_info[:2] >= (3, 13):
        hass_main.REQUIRED_PYTHON_VER = (3, 13, 0)
    sys.argv = ["hass", *argv]
    return hass_main.main()


# --------------------------------------------------------------------------- configure


@dataclass
class Api:
    """Home Assistant's REST and websocket API, logged in."""

    session: aiohttp.ClientSession
    url: str
    token: str = ""
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _next_id: int = 1
    _ws_used: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def client_id(self) -> str:
        """The IndieAuth client id: the instance itself, like its own frontend."""
        return f"{self.url}/"

    async def request(
        self, method: str, path: str, payload: Any = None, *, auth: bool = True, form: bool = False
    ) -> tuple[int, Any]:
        """Send one request; the status and the decoded JSON (or text) answer."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        kwargs: dict[str, Any] = {"data": payload} if form else {"json": payload}
        if payload is None:
            kwargs = {}
        async with self.session.request(
            method, self.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    async def ok(
        self, method: str, path: str, payload: Any = None, *, auth: bool = True, form: bool = False
    ) -> Any:
        """Like :meth:`request`, but only a 2xx answer is accepted."""
        status, body = await self.request(method, path, payload, auth=auth, form=form)
        if not 200 <= status < 300:
            raise DemoError(f"{method} {path} answered HTTP {status}: {body}")
        return body

    async def ws(self, message: dict[str, Any]) -> Any:
        """One websocket command; its result, or DemoError with Home Assistant's error."""
        if self._ws is not None and (
            self._ws.closed or time.monotonic() - self._ws_used > WS_IDLE_SECONDS
        ):
            # Home Assistant's heartbeat drops a websocket whose pings nobody reads (about
            # 80 s; check_live polls the REST API meanwhile): connect anew.
            await self._ws.close()
            self._ws = None
        if self._ws is None:
            self._ws = await self.session.ws_connect(self.url + "/api/websocket")
            hello = await self._ws.receive_json()
            await self._ws.send_json({"type": "auth", "access_token": self.token})
            answer = await self._ws.receive_json()
            if answer.get("type") != "auth_ok":
                raise DemoError(f"websocket login failed: {hello} / {answer}")
        message = {"id": self._next_id, **message}
        self._next_id += 1
        await self._ws.send_json(message)
        while True:
            answer = await self._ws.receive_json(timeout=60)
            if answer.get("id") == message["id"] and answer.get("type") == "result":
                break
        self._ws_used = time.monotonic()
        if not answer.get("success"):
            raise WsError(message["type"], answer.get("error", {}))
        return answer.get("result")

    async def close(self) -> None:
        """Close the websocket."""
        if self._ws is not None:
            await self._ws.close()


class WsError(DemoError):
    """A websocket command answered an error."""

    def __init__(self, command: str, error: dict[str, Any]) -> None:
        """Keep Home Assistant's error code and message."""
        self.code = error.get("code")
        super().__init__(f"{command}: {error.get('code')}: {error.get('message')}")


async def wait_for_http(api: Api, hass_pid: int | None, limit: float) -> list[dict[str, Any]]:
    """Wait until Home Assistant's HTTP server answers; the onboarding status."""
    deadline = time.monotonic() + limit
    last = "no answer yet"
    while time.monotonic() < deadline:
        if hass_pid is not None and not _alive(hass_pid):
            raise DemoError("Home Assistant exited while starting")
        try:
            status, body = await api.request("GET", "/api/onboarding", auth=False)
        except (aiohttp.ClientError, TimeoutError) as err:
            last = repr(err)
        else:
            if status == 200 and isinstance(body, list):
                return body
            if status == 404:  # registered only while onboarding is not complete
                return [{"step": step, "done": True} for step in ONBOARDING_STEPS]
            last = f"HTTP {status}: {body}"
        await asyncio.sleep(1)
    raise DemoError(f"Home Assistant did not answer on {api.url} within {limit:.0f}s ({last})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def get_tokens(api: Api, code: str) -> None:
    """Exchange an authorization code for an access token."""
    tokens = await api.ok(
        "POST",
        "/auth/token",
        {"grant_type": "authorization_code", "code": code, "client_id": api.client_id},
        auth=False,
        form=True,
    )
    api.token = tokens["access_token"]


async def login(api: Api, username: str, password: str) -> None:
    """Log in through the login flow, as the login page does."""
    flow = await api.ok(
        "POST",
        "/auth/login_flow",
        {
            "client_id": api.client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{api.url}/?auth_callback=1",
        },
        auth=False,
    )
    result = await api.ok(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        {"client_id": api.client_id, "username": username, "password": password},
        auth=False,
    )
    if result.get("type") != "create_entry":
        raise DemoError(f"login as {username!r} failed: {result.get('errors') or result}")
    await get_tokens(api, result["result"])


async def onboard(api: Api, steps: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Do the onboarding steps not done yet (and log in either way)."""
    done = {step["step"] for step in steps if step["done"]}
    if "user" in done:
        await login(api, args.username, args.password)
    else:
        log(f"onboarding: creating the owner {args.username!r}")
        answer = await api.ok(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": api.client_id,
                "name": args.owner_name,
                "username": args.username,
                "password": args.password,
                "language": "en",
            },
            auth=False,
        )
        await get_tokens(api, answer["auth_code"])
    await wait_running(api, args.timeout)
    await confirm_http_config(api)
    if "core_config" not in done:
        log("onboarding: location, time zone, units and currency")
        await api.ws(
            {
                "type": "config/core/update",
                "location_name": "IEC meter demo",
                "latitude": 40.4168,
                "longitude": -3.7038,
                "elevation": 657,
                "unit_system": "metric",
                "time_zone": "Europe/Madrid",
                "currency": "EUR",
                "country": "ES",
                "language": "en",
            }
        )
        await api.ok("POST", "/api/onboarding/core_config", {})
        await remove_failed_onboarding_entries(api)
    if "analytics" not in done:
        log("onboarding: analytics (left off)")
        await api.ok("POST", "/api/onboarding/analytics", {})
    if "integration" not in done:
        log("onboarding: integrations step")
        await api.ok(
            "POST",
            "/api/onboarding/integration",
            {"client_id": api.client_id, "redirect_uri": f"{api.url}/?auth_callback=1"},
        )
    status, steps = await api.request("GET", "/api/onboarding", auth=False)
    if status == 404:
        log("onboarding: complete")
        return
    if not all(step["done"] for step in steps):
        raise DemoError(f"onboarding not complete: {steps}")
    log("onboarding: " + ", ".join(f"{step['step']} done" for step in steps))


async def confirm_http_config(api: Api) -> None:
    """Confirm HTTP settings taken over from configuration.yaml (Home Assistant 2026.10+).

    Those versions keep the HTTP settings in their storage: the first start imports the
    YAML ones as a "pending" configuration that is reverted (with a restart) unless it
    is confirmed within five minutes, as the dialog in the UI asks.
    """
    try:
        http = await api.ws({"type": "http/config"})
    except WsError as err:
        if err.code == "unknown_command":  # HTTP settings only in YAML
            return
        raise
    pending = http.get("pending")
    if http.get("active_config_type") == "pending" and pending and not pending.get("error"):
        log("confirming the HTTP settings taken over from configuration.yaml")
        await api.ws({"type": "http/config/promote"})


async def remove_failed_onboarding_entries(api: Api) -> None:
    """Remove entries that finishing onboarding added and that cannot work here.

    Home Assistant starts the config flows of a few integrations (met, google_translate,
    radio_browser, shopping_list) when the core_config step is done. Offline and with
    --skip-pip, met and radio_browser only log an import error, but google_translate
    leaves an entry that fails to set up (no gTTS); it would show as failed in the UI.
    """
    pending = ("not_loaded", "setup_in_progress")
    entries: list[dict[str, Any]] = []
    for _ in range(20):  # the flows run as tasks: give them a moment
        await asyncio.sleep(0.5)
        entries = await api.ok("GET", "/api/config/config_entries/entry")
        if not any(e["state"] in pending for e in entries if e["domain"] in ONBOARDING_DOMAINS):
            break
    for entry in entries:
        if entry["domain"] in ONBOARDING_DOMAINS and entry["state"] != "loaded":
            log(f"removing the {entry['domain']} entry onboarding added ({entry['state']})")
            await api.ok("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")


async def wait_running(api: Api, limit: float) -> None:
    """Wait until Home Assistant has finished starting."""
    deadline = time.monotonic() + limit
    state: Any = None
    while time.monotonic() < deadline:
        state = await api.ok("GET", "/api/core/state")
        if state.get("state") == "RUNNING":
            config = await api.ok("GET", "/api/config")
            api.versions["homeassistant"] = config.get("version", "?")
            return
        await asyncio.sleep(1)
    raise DemoError(f"Home Assistant still not running after {limit:.0f}s: {state}")


def _schema_fields(step: dict[str, Any]) -> str:
    schema = step.get("data_schema") or []
    return ", ".join(str(item.get("name")) for item in schema) or "-"


async def run_config_flow(api: Api, answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Drive the integration's config flow with ``answers`` per step; the created entry."""
    step = await api.ok("POST", "/api/config/config_entries/flow", {"handler": DOMAIN})
    for _ in range(10):
        kind, step_id = step.get("type"), step.get("step_id")
        if kind == "create_entry":
            result: dict[str, Any] = step.get("result") or {}
            return result
        if step.get("errors"):
            raise DemoError(f"config flow step {step_id!r} answered errors {step['errors']}")
        if kind == "form" and step_id in answers:
            log(f"config flow: form {step_id!r} ({_schema_fields(step)})")
            user_input = answers[step_id]
        elif kind == "menu" and step_id in answers:
            options = step.get("menu_options")
            log(f"config flow: menu {step_id!r} {options}")
            user_input = answers[step_id]
        else:
            raise DemoError(f"config flow: unexpected step: {json.dumps(step)}")
        step = await api.ok(
            "POST", f"/api/config/config_entries/flow/{step['flow_id']}", user_input
        )
    raise DemoError("config flow: too many steps")


def _iec102_answers(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    host, port = _host_port(args.meter_url)
    return {
        "user": {"next_step_id": "iec102"},
        "utility": {"utility": "other"},
        "connection": {"next_step_id": "network"},
        "network": {"host": host, "port": port},
        "meter": {
            "name": args.meter_name,
            "link_address": args.link_address,
            "point_address": args.point_address,
            "password": str(args.meter_password),
        },
    }


def _iec62056_answers(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    host, port = _host_port(args.optical_url)
    return {
        "user": {"next_step_id": "iec62056"},
        "connection": {"next_step_id": "network"},
        "network": {"host": host, "port": port},
        "meter_iec62056": {"name": args.optical_name, "mode": "C"},
        # The standard values the readout has are ticked already; add the serial number.
        "values": {"data": ["C.1.0"]},
    }


async def ensure_entry(
    api: Api, url: str, answers: dict[str, dict[str, Any]], limit: float
) -> dict[str, Any]:
    """The config entry of the connection at ``url``, made through the config flow if missing."""
    title = url.removeprefix("socket://")

    async def ours() -> dict[str, Any] | None:
        entries = await api.ok("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        # Titled "<protocol> · <address>" (by the address alone before 0.2).
        return next((dict(e) for e in entries if e["title"].endswith(title)), None)

    entry = await ours()
    if entry is not None:
        log(f"config entry exists: {title!r} ({entry['state']})")
    else:
        entry = await run_config_flow(api, answers)
        log(f"config flow: created {entry.get('title')!r}")
    # Wait until it is set up.
    deadline = time.monotonic() + limit
    while True:
        entry = await ours()
        if entry is not None and entry["state"] == "loaded":
            return entry
        if time.monotonic() > deadline or (
            entry is not None and entry["state"] in ("setup_error", "migration_error")
        ):
            raise DemoError(f"config entry {title!r} not loaded: {entry}")
        await asyncio.sleep(1)


async def ensure_gateway(api: Api, entry: dict[str, Any], port: int, limit: float) -> str:
    """A gateway on 127.0.0.1:``port`` for ``entry``'s hub, added if missing; its sensor.

    Added through the subentry flow, as "Add gateway" does; the hub then reloads. Returns
    once the gateway listens (its "in use" sensor is off).
    """
    entry_id = entry["entry_id"]
    title = f"Gateway {GATEWAY_HOST}:{port}"

    async def ours() -> dict[str, Any] | None:
        listed = await api.ws({"type": "config_entries/subentries/list", "entry_id": entry_id})
        return next(
            (
                item
                for item in listed
                if item["subentry_type"] == GATEWAY and item["title"] == title
            ),
            None,
        )

    gateway = await ours()
    if gateway is not None:
        log(f"gateway exists: {title!r}")
    else:
        flow_path = "/api/config/config_entries/subentries/flow"
        step = await api.ok("POST", flow_path, {"handler": [entry_id, GATEWAY]})
        if step.get("type") != "form":
            raise DemoError(f"add gateway: unexpected step: {json.dumps(step)}")
        log(f"subentry flow: form {step.get('step_id')!r} ({_schema_fields(step)})")
        answer = {
            "port": port,
            "interface": GATEWAY_HOST,
            "priority": 1,
            "inactivity_timeout": 60_000,
        }
        step = await api.ok("POST", f"{flow_path}/{step['flow_id']}", answer)
        if step.get("type") != "create_entry":
            raise DemoError(f"add gateway: {step.get('errors') or json.dumps(step)}")
        gateway = await ours()
        if gateway is None:
            raise DemoError(f"add gateway: no subentry {title!r} after the flow")
        log(f"subentry flow: created {title!r}")
    unique_id = f"{entry_id}_{gateway['subentry_id']}{GATEWAY_IN_USE}"
    deadline = time.monotonic() + limit
    state: Any = None
    while time.monotonic() < deadline:
        registry = await api.ws({"type": "config/entity_registry/list"})
        found = next((e for e in registry if e.get("unique_id") == unique_id), None)
        if found is not None:
            status, state = await api.request("GET", f"/api/states/{found['entity_id']}")
            if status == 200 and state.get("state") == "off":
                return str(found["entity_id"])
        await asyncio.sleep(1)
    raise DemoError(f"gateway {title!r} not listening after {limit:.0f}s (state {state})")


async def meter_serial(api: Api, entry_id: str) -> str:
    """The serial number Home Assistant shows for the hub's meter (its device)."""
    devices = await api.ws({"type": "config/device_registry/list"})
    serials = [
        str(device["serial_number"])
        for device in devices
        if entry_id in device.get("config_entries", []) and device.get("serial_number")
    ]
    if len(serials) != 1:
        raise DemoError(f"expected one meter with a serial number on the hub, found {serials}")
    return serials[0]


async def check_read_through_gateway(
    api: Api, command: str, serial: str, in_use: str
) -> tuple[bool, str]:
    """Run the ``read`` command the demo prints; it must show the meter's serial number.

    While it runs, Home Assistant polls the meter and the gateway hands it the line.
    """
    log(f"reading the meter through the gateway: {command}")
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *shlex.split(command),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        return False, f"the read command did not finish within {READ_TIMEOUT:.0f}s"
    took = time.monotonic() - started
    text = out.decode(errors="replace")
    if process.returncode != 0:
        return False, f"the read command exited {process.returncode}: {err.decode().strip()}"
    rows = [line.split() for line in text.splitlines()]
    if ["Serial", "number", serial] not in rows:
        return False, f"the read command did not print serial number {serial}:\n{text}"
    print(f"  read through the gateway in {took:.1f}s: serial number {serial}", flush=True)
    # The line goes back to Home Assistant when the command disconnects.
    deadline = time.monotonic() + 30
    while True:
        _, state = await api.request("GET", f"/api/states/{in_use}")
        if isinstance(state, dict) and state.get("state") == "off":
            return True, ""
        if time.monotonic() > deadline:
            return False, f"{in_use} still {state} after the read command left"
        await asyncio.sleep(1)


def _host_port(url: str) -> tuple[str, int]:
    rest = url.removeprefix("socket://")
    host, _, port = rest.rpartition(":")
    return host, int(port)


async def find_sensors(
    api: Api, entry_id: str, limit: float, wanted: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The integration's entity registry entries, by wanted unique id suffix."""
    deadline = time.monotonic() + limit
    while True:
        registry = await api.ws({"type": "config/entity_registry/list"})
        ours = [
            item
            for item in registry
            if item.get("platform") == DOMAIN and item.get("config_entry_id") == entry_id
        ]
        found = {
            suffix: item
            for suffix in wanted
            for item in ours
            if str(item.get("unique_id", "")).endswith(suffix)
        }
        if len(found) == len(wanted):
            disabled = [item["entity_id"] for item in found.values() if item.get("disabled_by")]
            if disabled:
                raise DemoError(f"entities disabled: {disabled}")
            return found
        if time.monotonic() > deadline:
            missing = [name for suffix, name in wanted.items() if suffix not in found]
            listing = [(item["entity_id"], item.get("unique_id")) for item in ours]
            raise DemoError(f"no entity for {missing}; the entry has {listing}")
        await asyncio.sleep(1)


async def find_profile_statistics(api: Api, limit: float) -> dict[str, str]:
    """The IEC 102 meter's imported profile statistics, by series suffix.

    They appear once the first chunk of the backfill is in the recorder (seconds after
    the meter is added).
    """
    deadline = time.monotonic() + limit
    while True:
        listed = await api.ws({"type": "recorder/list_statistic_ids", "statistic_type": "sum"})
        found = {
            suffix: item["statistic_id"]
            for item in listed
            for suffix in (PROFILE_IMPORT, PROFILE_EXPORT)
            if item["statistic_id"].startswith(f"{DOMAIN}:")
            and item["statistic_id"].endswith(suffix)
        }
        if len(found) == 2:  # import and export
            return found
        if time.monotonic() > deadline:
            raise DemoError(f"no profile statistics after {limit:.0f}s (found {found})")
        await asyncio.sleep(2)


async def check_history(api: Api, statistic_ids: list[str], limit: float) -> tuple[bool, str]:
    """Wait until the backfill's hours are in the recorder, with a sum that never drops."""
    start = time.time() - BACKFILL_DAYS * 86_400
    wanted = int(BACKFILL_DAYS * 24 * BACKFILL_SHARE)
    deadline = time.monotonic() + limit
    while True:
        rows = await api.ws(
            {
                "type": "recorder/statistics_during_period",
                "start_time": time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(start)),
                "statistic_ids": statistic_ids,
                "period": "hour",
                "types": ["state", "sum"],
            }
        )
        counts = {statistic: len(rows.get(statistic, [])) for statistic in statistic_ids}
        if all(count >= wanted for count in counts.values()) or time.monotonic() > deadline:
            break
        log(f"history so far: {counts} hourly rows (waiting for {wanted})")
        await asyncio.sleep(3)
    for statistic in statistic_ids:
        series = rows.get(statistic, [])
        sums = [row["sum"] for row in series]
        if not series:
            return False, f"no hourly rows for {statistic}"
        first, last = series[0], series[-1]
        print(
            f"  {statistic:<50} {len(series)} hourly rows, {_when(first['start'])} .. "
            f"{_when(last['start'])}, sum {sums[0]:.0f} .. {sums[-1]:.0f}",
            flush=True,
        )
        if len(series) < wanted:
            return False, f"{statistic} has {len(series)} hourly rows, expected {wanted}"
        if any(later < earlier for earlier, later in itertools.pairwise(sums)):
            return False, f"the sum of {statistic} drops somewhere"
    return True, ""


def _when(value: Any) -> str:
    """A statistics row's start (ms since the epoch, or ISO text) as UTC text."""
    if isinstance(value, (int, float)):
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(value / 1000))
    return str(value)


def grid_source(import_id: str, export_id: str, legacy: bool) -> dict[str, Any]:
    """One grid connection: energy from the grid and back, in either prefs format."""
    if legacy:  # Home Assistant < 2026.4-ish: flow_from / flow_to lists.
        return {
            "type": "grid",
            "flow_from": [
                {
                    "stat_energy_from": import_id,
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                }
            ],
            "flow_to": [
                {
                    "stat_energy_to": export_id,
                    "stat_compensation": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                }
            ],
            "cost_adjustment_day": 0.0,
        }
    return {  # The unified grid format: one import/export pair per source.
        "type": "grid",
        "stat_energy_from": import_id,
        "stat_energy_to": export_id,
        "stat_cost": None,
        "entity_energy_price": None,
        "number_energy_price": None,
        "stat_compensation": None,
        "entity_energy_price_export": None,
        "number_energy_price_export": None,
        "cost_adjustment_day": 0.0,
    }


def _grid_stats(prefs: dict[str, Any] | None) -> tuple[set[str], set[str]]:
    """Statistic ids used as grid import and export, in either format."""
    imports: set[str] = set()
    exports: set[str] = set()
    for source in (prefs or {}).get("energy_sources", []):
        if source.get("type") != "grid":
            continue
        imports.update(f["stat_energy_from"] for f in source.get("flow_from", []))
        exports.update(f["stat_energy_to"] for f in source.get("flow_to", []))
        imports.add(source.get("stat_energy_from") or "")
        exports.add(source.get("stat_energy_to") or "")
    return imports - {""}, exports - {""}


async def get_energy_prefs(api: Api) -> dict[str, Any] | None:
    """The Energy dashboard's preferences, or None while never saved."""
    try:
        prefs: dict[str, Any] = await api.ws({"type": "energy/get_prefs"})
    except WsError as err:
        if err.code == "not_found":
            return None
        raise
    return prefs


def _grid_formats(import_id: str, export_id: str) -> list[bool]:
    """Prefs formats to try (legacy?): first the one the installed energy schema accepts.

    This runs in Home Assistant's venv, so its own schema tells (a refused save_prefs
    would log an error in Home Assistant); both stay as a fallback.
    """
    try:
        from homeassistant.components.energy import data  # noqa: PLC0415
    except ImportError:
        return [False, True]
    for legacy in (False, True):
        try:
            data.ENERGY_SOURCE_SCHEMA([grid_source(import_id, export_id, legacy)])
        except Exception:  # noqa: BLE001, S112  (voluptuous or probatio Invalid)
            continue
        return [legacy, not legacy]
    return [False, True]


async def ensure_energy(api: Api, import_id: str, export_id: str) -> dict[str, Any]:
    """Point the Energy dashboard's grid at the meter; the saved preferences."""
    prefs = await get_energy_prefs(api)
    imports, exports = _grid_stats(prefs)
    if import_id in imports and export_id in exports:
        log("energy dashboard already uses the meter")
        return prefs or {}
    errors = []
    for legacy in _grid_formats(import_id, export_id):
        try:
            await api.ws(
                {
                    "type": "energy/save_prefs",
                    "energy_sources": [grid_source(import_id, export_id, legacy)],
                }
            )
        except WsError as err:
            errors.append(str(err))
            continue
        log(f"energy dashboard: grid in {'legacy' if legacy else 'unified'} format")
        break
    else:
        raise DemoError(f"energy/save_prefs refused both formats: {errors}")
    prefs = await get_energy_prefs(api)
    imports, exports = _grid_stats(prefs)
    if import_id not in imports or export_id not in exports:
        raise DemoError(f"energy prefs do not show the meter after saving: {prefs}")
    return prefs or {}


def _number(state: dict[str, Any] | None) -> float | None:
    if state is None:
        return None
    try:
        value = float(state["state"])
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _fmt(state: dict[str, Any] | None) -> str:
    if state is None:
        return "(no state)"
    unit = state.get("attributes", {}).get("unit_of_measurement") or ""
    return f"{state['state']} {unit}".strip()


async def check_live(api: Api, entity_ids: Iterable[str], seconds: float) -> tuple[bool, str]:
    """Wait until every sensor is numeric and at least one was updated again since.

    True when so, else False and why not.
    """
    wanted = list(entity_ids)
    deadline = time.monotonic() + seconds
    first: dict[str, tuple[Any, ...]] = {}
    nudged_at = time.monotonic()
    states: dict[str, dict[str, Any]] = {}
    while True:
        all_states = await api.ok("GET", "/api/states")
        states = {s["entity_id"]: s for s in all_states if s["entity_id"] in wanted}
        numeric = all(_number(states.get(entity_id)) is not None for entity_id in wanted)
        if numeric:
            stamp = {
                entity_id: (
                    states[entity_id]["state"],
                    states[entity_id].get("last_updated"),
                    states[entity_id].get("last_reported"),
                )
                for entity_id in wanted
            }
            if not first:
                first = stamp
                nudged_at = time.monotonic()
                log("all sensors numeric; waiting for a further update")
            changed = [entity_id for entity_id in wanted if stamp[entity_id] != first[entity_id]]
            if changed:
                log(f"updated again: {', '.join(changed)}")
                break
        now = time.monotonic()
        if first and now - nudged_at > 20:
            # No new reading yet: ask for one, as the UI's "update entity" does.
            log("asking the integration for a fresh reading (homeassistant.update_entity)")
            await api.ok("POST", "/api/services/homeassistant/update_entity", {"entity_id": wanted})
            nudged_at = now
        if now > deadline:
            break
        await asyncio.sleep(2)
    ok = bool(first) and any(
        (s["state"], s.get("last_updated"), s.get("last_reported")) != first[e]
        for e, s in states.items()
    )
    for entity_id in wanted:
        state = states.get(entity_id)
        when = state.get("last_updated") if state else None
        print(f"  {entity_id:<50} {_fmt(state):<22} last_updated {when}", flush=True)
    not_numeric = [e for e in wanted if _number(states.get(e)) is None]
    if not_numeric:
        return False, f"not numeric: {', '.join(not_numeric)}"
    if not ok:
        return False, "numeric, but no further reading was seen (not live)"
    return True, ""


async def configure(args: argparse.Namespace) -> int:
    """Onboarding, config entry and energy prefs; then the optional check."""
    async with aiohttp.ClientSession() as session:
        api = Api(session, args.url.rstrip("/"))
        try:
            return await _configure(api, args)
        except DemoError as err:
            log(f"FAILED: {err}")
            return 1
        finally:
            await api.close()


async def _configure(api: Api, args: argparse.Namespace) -> int:
    started = time.monotonic()
    steps = await wait_for_http(api, args.hass_pid, args.timeout)
    log(f"Home Assistant answers after {time.monotonic() - started:.0f}s")
    await onboard(api, steps, args)
    log(f"Home Assistant {api.versions.get('homeassistant')} is running")
    if args.onboard_only:
        # The browser test adds the meters itself, as a user would.
        return 0
    entry = await ensure_entry(api, args.meter_url, _iec102_answers(args), args.timeout)
    in_use = None
    if args.gateway_port:
        in_use = await ensure_gateway(api, entry, args.gateway_port, args.timeout)
    sensors = await find_sensors(api, entry["entry_id"], args.timeout, WANTED_SENSORS)
    entity = {suffix: item["entity_id"] for suffix, item in sensors.items()}
    profile = await find_profile_statistics(api, args.timeout)
    prefs = await ensure_energy(api, profile[PROFILE_IMPORT], profile[PROFILE_EXPORT])
    print("Meter sensors (IEC 102):")
    for suffix, name in WANTED_SENSORS.items():
        print(f"  {name:<14} {entity[suffix]}")
    print("Load profile statistics (Energy dashboard):")
    for statistic in profile.values():
        print(f"  {statistic}")
    live = [entity[suffix] for suffix in WANTED_SENSORS]
    if args.optical_url:
        optical = await ensure_entry(api, args.optical_url, _iec62056_answers(args), args.timeout)
        found = await find_sensors(api, optical["entry_id"], args.timeout, WANTED_OPTICAL_SENSORS)
        print("Meter sensors (IEC 62056-21):")
        for suffix, name in WANTED_OPTICAL_SENSORS.items():
            print(f"  {name:<14} {found[suffix]['entity_id']}")
        # The serial number is text; the numbers must be live.
        live += [found[s]["entity_id"] for s in WANTED_OPTICAL_SENSORS if s != "_data_C.1.0"]
    print("Energy dashboard preferences:")
    print("  " + json.dumps(prefs.get("energy_sources"), indent=None))
    if not args.check:
        return 0
    log(f"checking for live values (up to {args.check:.0f}s)")
    check_started = time.monotonic()
    ok, why_not_live = await check_live(api, live, args.check)
    took = time.monotonic() - check_started
    if not ok:
        log(f"CHECK FAILED within {took:.0f}s: {why_not_live}")
        return 1
    log(f"live values after {took:.0f}s; checking the imported history")
    ok, why_not = await check_history(api, list(profile.values()), args.timeout)
    if not ok:
        log(f"CHECK FAILED: {why_not}")
        return 1
    passed = f"live values and {BACKFILL_DAYS} days of history"
    if in_use is not None and args.read_command:
        serial = await meter_serial(api, entry["entry_id"])
        ok, why_not = await check_read_through_gateway(api, args.read_command, serial, in_use)
        if not ok:
            log(f"CHECK FAILED: {why_not}")
            return 1
        passed += ", the read command through the gateway"
    log(f"CHECK PASSED: {passed}")
    return 0


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hass"]:
        return cmd_hass(argv[1:])
    parser = argparse.ArgumentParser(prog="demo_setup.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    req = commands.add_parser("requirements", help="install integration requirements")
    req.add_argument("--config-dir", required=True)
    req.add_argument("--ui", action="store_true", help="warn if the frontend cannot load")
    commands.add_parser("hass", help="run Home Assistant (arguments go to hass)")
    conf = commands.add_parser("configure", help="onboarding, config entry, energy prefs")
    conf.add_argument("--url", required=True, help="Home Assistant's URL")
    conf.add_argument("--meter-url", required=True, help="socket://HOST:PORT of the meter")
    conf.add_argument("--hass-pid", type=int, help="give up when this process exits")
    conf.add_argument("--timeout", type=float, default=180, help="per step, seconds")
    conf.add_argument("--check", type=float, default=0, metavar="SECONDS")
    conf.add_argument("--username", default="demo")
    conf.add_argument("--password", default="demo")
    conf.add_argument("--owner-name", default="Demo")
    conf.add_argument("--meter-name", default="Demo meter")
    conf.add_argument("--link-address", type=int, default=1)
    conf.add_argument("--point-address", type=int, default=1)
    conf.add_argument("--meter-password", type=int, default=1)
    conf.add_argument("--optical-url", help="socket://HOST:PORT of an IEC 62056-21 meter")
    conf.add_argument("--optical-name", default="Household meter")
    conf.add_argument("--onboard-only", action="store_true", help="no entries, no energy prefs")
    conf.add_argument(
        "--gateway-port", type=int, help="add a gateway on 127.0.0.1:PORT to the IEC 102 hub"
    )
    conf.add_argument(
        "--read-command", help="with --check: the read command through the gateway, to run"
    )
    args = parser.parse_args(argv)
    if args.command == "requirements":
        return cmd_requirements(args)
    try:
        return asyncio.run(configure(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
