"""scripts/check-hassfest: it passes on the repository and fails on what hassfest rejects."""

from __future__ import annotations

from collections.abc import Callable
from importlib.machinery import SourceFileLoader
import importlib.util
import json
from pathlib import Path
import shutil
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check-hassfest"
INTEGRATION = ROOT / "custom_components" / "iec_meter"


def load_script() -> ModuleType:
    loader = SourceFileLoader("check_hassfest", str(SCRIPT))
    spec = importlib.util.spec_from_loader("check_hassfest", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


check_hassfest = load_script()


def copy(tmp_path: Path) -> Path:
    """A copy of the integration to break (its folder keeps the domain's name)."""
    folder = tmp_path / "iec_meter"
    shutil.copytree(INTEGRATION, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def translations(folder: Path) -> list[Path]:
    return [folder / "strings.json", *sorted((folder / "translations").glob("*.json"))]


def test_the_repository_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_hassfest.main([]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    for checked in ("manifest.json", "strings.json", "translations/es.json", "icons.json"):
        assert f"checked {checked}" in out
    assert "quality_scale.yaml: 54 rules" in out
    assert out.rstrip().endswith("all passed")


def test_the_script_runs_on_its_own() -> None:
    """As scripts/test runs it: the venv's Python, exit status 0."""
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all passed" in run.stdout


def test_a_bad_selector_option_key_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stored value as an option key (parity "N") is what hassfest refused."""
    folder = copy(tmp_path)
    for path in translations(folder):
        edit_json(path, lambda data: data["selector"]["parity"]["options"].update(N="None"))
    assert check_hassfest.main([str(folder)]) == 1
    out = capsys.readouterr().out
    for name in ("strings.json", "translations/en.json", "translations/es.json"):
        assert f"FAIL {name}: selector.parity.options.N: invalid translation key 'N'" in out
    assert out.count("FAIL") == 3


def _categories(folder: Path) -> None:
    edit_json(folder / "manifest.json", lambda data: data.update(categories=["energy"]))


def _pinned_badly(folder: Path) -> None:
    edit_json(folder / "manifest.json", lambda data: data.update(requirements=["serialx >=1"]))


def _missing_spanish(folder: Path) -> None:
    edit_json(folder / "translations/es.json", lambda data: data["exceptions"].pop("off_scan"))


def _renamed_placeholder(folder: Path) -> None:
    def change(data: Any) -> None:
        data["exceptions"]["auth_failed"]["message"] = "El contador {medidor} no acepta"

    edit_json(folder / "translations/es.json", change)


def _english_out_of_date(folder: Path) -> None:
    def change(data: Any) -> None:
        data["exceptions"]["auth_failed"]["message"] = "Meter {meter} said no"

    edit_json(folder / "translations/en.json", change)


def _unknown_section(folder: Path) -> None:
    for path in translations(folder):
        edit_json(path, lambda data: data.update(widgets={}))


def _todo_rule(folder: Path) -> None:
    path = folder / "quality_scale.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("common-modules: done", "common-modules: todo"))


def _exempt_without_reason(folder: Path) -> None:
    path = folder / "quality_scale.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("  inject-websession:")
    lines[start : start + 3] = ["  inject-websession: exempt"]
    path.write_text("\n".join(lines) + "\n")


def _icon_not_mdi(folder: Path) -> None:
    def change(data: Any) -> None:
        data["entity"]["button"]["read_now"]["default"] = "refresh"

    edit_json(folder / "icons.json", change)


@pytest.mark.parametrize(
    ("breakage", "failure"),
    [
        (_categories, "manifest.json: unknown key 'categories'"),
        (_pinned_badly, "manifest.json: requirement 'serialx >=1' contains a space"),
        (_missing_spanish, "translations/es.json: exceptions.off_scan.message: missing"),
        (_renamed_placeholder, "placeholders ['medidor'] differ from strings.json's ['meter']"),
        (_english_out_of_date, "translations/en.json: exceptions.auth_failed.message: 'Meter"),
        (_unknown_section, "strings.json: widgets: unknown key"),
        (_todo_rule, "quality_scale.yaml: rules.common-modules: still todo"),
        (_exempt_without_reason, "rules.inject-websession: an exempt rule needs a comment"),
        (_icon_not_mdi, "icons.json: entity.button.read_now.default: the icon needs"),
    ],
)
def test_what_hassfest_rejects_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    breakage: Callable[[Path], None],
    failure: str,
) -> None:
    folder = copy(tmp_path)
    breakage(folder)
    assert check_hassfest.main([str(folder)]) == 1
    assert failure in capsys.readouterr().out
