"""The simulated meter's billing: closures at month ends, refusals, the edges of its history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from custom_components.iec_meter.core.iec102.asdu import Asdu
from custom_components.iec_meter.core.iec102.asdu.billing import (
    contracted_powers_request,
    current_billing_request,
    decode_billing,
    decode_contracted_powers,
    stored_billing_request,
)
from custom_components.iec_meter.core.iec102.constants import Cause, ContractRegister, TypeId
from simulator.billing import BillingBook
from simulator.history import IMPORT, Q1, Q4
from simulator.iec102_meter import MeterConfig, SimulatedMeter
from tests.conftest import MADRID

from .drive import Driver

NOW = datetime(2026, 11, 20, 13, 30, tzinfo=MADRID)
CONTRACT_1 = ContractRegister.CONTRACT_1


def meter(now: datetime = NOW, **options: object) -> SimulatedMeter:
    return SimulatedMeter(MeterConfig(), MADRID, lambda: now, **options)  # type: ignore[arg-type]


def started(target: SimulatedMeter) -> Driver:
    driver = Driver(target)
    driver.start()
    return driver


def causes(driver: Driver, request: Asdu) -> list[tuple[int, bool]]:
    return [(answer.cause, answer.negative) for answer in driver.exchange(request)]


def month(year: int, number: int) -> datetime:
    return datetime(year, number, 1, tzinfo=MADRID)


def test_refusals() -> None:
    target = meter()
    driver = Driver(target)
    current = current_billing_request(1, CONTRACT_1)
    powers = contracted_powers_request(1, CONTRACT_1)
    negative = (Cause.ACTIVATION_CONFIRMATION, True)
    assert causes(driver, current) == [negative]  # not logged in
    assert causes(driver, powers) == [negative]
    driver.start()
    no_contract = Asdu(TypeId.C_TA_VC_2, Cause.ACTIVATION, 1, 137)
    assert causes(driver, no_contract) == [(Cause.RECORD_NUMBER_UNKNOWN, True)]
    lacking = current_billing_request(1, ContractRegister.CONTRACT_3)
    assert causes(driver, lacking) == [(Cause.RECORD_NOT_AVAILABLE, True)]
    stored = stored_billing_request(1, CONTRACT_1, NOW - timedelta(days=90), NOW, MADRID)
    short = Asdu(stored.type_id, stored.cause, 1, CONTRACT_1, count=1, body=stored.body[:4])
    assert causes(driver, short) == [(Cause.RECORD_NUMBER_UNKNOWN, True)]
    empty = Asdu(stored.type_id, stored.cause, 1, CONTRACT_1, count=1, body=bytes(10))
    assert causes(driver, empty) == [(Cause.RECORD_NUMBER_UNKNOWN, True)]
    other_point = current_billing_request(7, CONTRACT_1)
    assert causes(driver, other_point) == [(Cause.ADDRESS_UNKNOWN, True)]
    no_powers = Asdu(TypeId.C_PC_NA_2, Cause.REQUEST, 1, 0)
    assert causes(driver, no_powers) == [(Cause.RECORD_NUMBER_UNKNOWN, True)]
    (answer,) = driver.exchange(powers)
    assert (answer.type_id, answer.cause, answer.record_address) == (
        TypeId.M_PC_NA_2,
        Cause.REQUEST,
        CONTRACT_1,
    )
    decoded = decode_contracted_powers(answer, MADRID)
    assert decoded.powers == {1: 5, 2: 5, 3: 8}
    assert decoded.since == datetime(2025, 6, 1, tzinfo=MADRID)


def test_a_closure_over_the_new_year_and_its_registers() -> None:
    target = meter()
    driver = started(target)
    after_a_closure = month(2025, 12) + timedelta(minutes=1)
    request = stored_billing_request(1, CONTRACT_1, after_a_closure, month(2026, 2), MADRID)
    answers = driver.exchange(request)
    assert [a.cause for a in answers] == [7, *[5] * 6, 10]  # two closures of three ASDUs
    objects = [item for answer in answers[1:-1] for item in decode_billing(answer, MADRID)]
    assert [(item.start, item.end) for item in objects[::7]] == [
        (month(2025, 12), month(2026, 1)),
        (month(2026, 1), month(2026, 2)),
    ]
    history = target.history
    for closure in (objects[:7], objects[7:]):
        total, *tariffs = closure
        end = total.end
        assert end is not None
        registers = history.register(end)
        assert total.active.absolute == registers[IMPORT]
        assert total.inductive.absolute == registers[Q1]
        assert total.capacitive.absolute == registers[Q4]
        assert total.active.increment == registers[IMPORT] - history.register(total.start)[IMPORT]  # type: ignore[arg-type]
        assert all(item.active.absolute > 0 for item in tariffs[:3])


@pytest.mark.parametrize(
    ("days", "first_closure"),
    [(50, month(2026, 11)), (49, None), (19, None), (400, month(2025, 12))],
    ids=["from-the-1st", "a-day-short", "this-month", "default"],
)
def test_only_closures_whose_whole_month_the_meter_keeps(
    days: int, first_closure: datetime | None
) -> None:
    book = meter(history_days=days).billing
    ends = book.closure_ends(month(2020, 1), NOW, NOW)
    assert (ends[0] if ends else None) == first_closure
    assert ends == sorted(ends)
    assert all(end <= NOW for end in ends)


def test_the_current_period_of_a_young_history_starts_with_it() -> None:
    target = meter(history_days=5)
    total, *_ = target.billing.current(NOW)
    assert total.start == datetime(2026, 11, 15, tzinfo=MADRID)
    assert total.end is None
    assert total.active.increment > 0
    # Just after a closure, the current period is still empty.
    midnight = datetime(2026, 12, 1, 0, 20, tzinfo=MADRID)
    total, *tariffs = BillingBook(target.history).current(midnight)
    assert total.start == month(2026, 12)
    assert (total.active.increment, total.max_demand, total.max_demand_time) == (0, 0, None)
    assert all(item.max_demand_time is None for item in tariffs)


def test_peaks_are_the_highest_quarters_of_each_tariff_period() -> None:
    history = meter().history
    start, end = month(2026, 10).astimezone(UTC), month(2026, 11).astimezone(UTC)
    peaks = history.peaks(start, end)
    # Scanning the quarters one by one finds the same peaks.
    part = history.peaks(start + timedelta(minutes=15), end - timedelta(minutes=15))
    for period, peak in peaks.items():
        assert peak.end is not None
        assert start < peak.end <= end
        found = part[period]
        assert found.kw <= peak.kw
    assert history.peaks(end, end) == {period: type(peak)() for period, peak in peaks.items()}
    assert date(2026, 10, 1) <= peaks[1].end.astimezone(MADRID).date()  # type: ignore[union-attr]


@pytest.mark.parametrize("now", [NOW, datetime(2026, 6, 21, 13, 0, tzinfo=MADRID)])
def test_every_closure_grows_and_adds_up_to_the_profile(now: datetime) -> None:
    target = meter(now)
    book, history = target.billing, target.history
    ends = book.closure_ends(month(2020, 1), now, now)
    assert len(ends) == 12
    for end in ends:
        total, *tariffs = book.closure(end)
        for item in (total, *tariffs):
            for energy in (item.active, item.inductive, item.capacitive):
                assert 0 <= energy.increment <= energy.absolute
        registers = history.register(end)
        assert (total.active.absolute, total.inductive.absolute, total.capacitive.absolute) == (
            registers[IMPORT],
            registers[Q1],
            registers[Q4],
        )


def test_a_larger_load_gets_a_contract_that_fits_it() -> None:
    from simulator.tariff import CONTRACTED_KW, contracted_kw  # noqa: PLC0415

    assert contracted_kw(6.0) == CONTRACTED_KW  # the household's, whose peaks go over
    business = contracted_kw(40.0)
    assert business == {1: 46, 2: 46, 3: 54}
    assert all(kw >= 40.0 * 1.15 for kw in business.values())
    assert list(business.values()) == sorted(business.values())  # P1 <= P2 <= P3
