"""Fail when a module's coverage is below its floor: 95 % each, 100 % for the config flow.

Run after pytest --cov: ``python scripts/coverage_gate.py`` (reads .coverage).
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
import tempfile

import coverage

FLOOR = 95.0
#: Modules held to more than the floor.
STRICTER = {"custom_components/iec_meter/config_flow.py": 100.0}


def main() -> int:
    """Check every measured module; print the ones below their floor."""
    measured = coverage.Coverage()
    measured.load()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "coverage.json"
        measured.json_report(outfile=str(report))
        files = json.loads(report.read_text())["files"]
    low = []
    for path, data in sorted(files.items()):
        percent = data["summary"]["percent_covered"]
        floor = STRICTER.get(path, FLOOR)
        if percent < floor:
            low.append(f"{path}: {percent:.1f} % < {floor:g} %")
    for line in low:
        print(f"[coverage] {line}", file=sys.stderr)
    print(f"[coverage] {len(files)} modules, {len(low)} below their floor", file=sys.stderr)
    return 1 if low else 0


if __name__ == "__main__":
    raise SystemExit(main())
