"""A short soak run: every injected fault recovered, nothing leaked."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[2]


async def test_short_soak_recovers_every_fault() -> None:
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    soak = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = soak  # dataclasses look their module up
    spec.loader.exec_module(soak)
    result = await soak.soak(400)
    assert result.successes == 400, result.report()
    assert result.unrecovered == 0
    assert result.retransmissions > 0  # faults did happen and were recovered by the link
    assert result.fds_after <= result.fds_before
    assert result.tasks_left == 0
    assert "p99" in result.report()
