"""Auto-demotion rules, on a clock the test moves."""

from __future__ import annotations

import pytest

from custom_components.iec_meter.core.demotion import DemotionSettings, ScanState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_off_scan_after_n_failures_then_one_attempt_after_the_delay() -> None:
    clock = Clock()
    scan = ScanState(DemotionSettings(failures=3, delay_ms=60_000), clock)
    assert scan.on_scan and scan.may_poll()
    assert scan.seconds_left == 0
    assert scan.failure() is False
    assert scan.failure() is False
    assert scan.failure() is True  # the third: off scan
    assert not scan.on_scan
    assert not scan.may_poll()
    assert scan.seconds_left == 60
    clock.now += 59.9
    assert not scan.may_poll()
    clock.now += 0.1
    assert scan.may_poll()  # one attempt
    assert scan.failure() is False  # failed again: another delay, no new transition
    assert not scan.may_poll()
    assert scan.seconds_left == 60
    clock.now += 60
    assert scan.success() is True  # back on scan
    assert scan.on_scan and scan.consecutive_failures == 0
    assert scan.success() is False


def test_a_success_resets_the_count() -> None:
    scan = ScanState(DemotionSettings(failures=2), Clock())
    scan.failure()
    scan.success()
    assert scan.failure() is False
    assert scan.on_scan


def test_disabled_never_demotes() -> None:
    scan = ScanState(DemotionSettings(enabled=False, failures=1), Clock())
    for _ in range(10):
        assert scan.failure() is False
    assert scan.on_scan and scan.may_poll()
    assert scan.consecutive_failures == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"failures": 0}, "failures 0"), ({"delay_ms": 999}, "delay 999 ms")],
)
def test_settings_are_checked(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DemotionSettings(**kwargs)
