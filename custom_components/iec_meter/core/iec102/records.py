"""IEC 102 totals and billing objects as the protocol-neutral records of the core."""

from __future__ import annotations

from ..records import PROFILE_SERIES, BillingPeriod, PeriodFlag, ProfilePeriod
from .asdu.billing import BillingObject
from .asdu.totals import IntegratedTotals
from .constants import ContractRegister, Qualifier

#: Quality bits and the flags they stand for.
_FLAGS = {
    Qualifier.INVALID: PeriodFlag.INVALID,
    Qualifier.ADJUSTED: PeriodFlag.ADJUSTED,
    Qualifier.OVERFLOW: PeriodFlag.OVERFLOW,
    Qualifier.TIME_SYNC: PeriodFlag.TIME_SYNC,
    Qualifier.PARAMETER_CHANGE: PeriodFlag.PARAMETER_CHANGE,
    Qualifier.INTRUSION: PeriodFlag.INTRUSION,
    Qualifier.INCOMPLETE: PeriodFlag.INCOMPLETE,
}


def qualifier_flags(qualifier: int) -> frozenset[PeriodFlag]:
    """The flags a quality byte sets."""
    return frozenset(flag for bit, flag in _FLAGS.items() if qualifier & bit)


def profile_period(totals: IntegratedTotals) -> ProfilePeriod | None:
    """One profile period from an integrated-totals ASDU (None without a valid time).

    Objects 1..6 are the six energy series; the reserves (7, 8) are left out.
    """
    if totals.period_end is None:
        return None
    values: dict[str, float | None] = {}
    flags: dict[str, frozenset[PeriodFlag]] = {}
    for item in totals.totals:
        if not 1 <= item.address <= len(PROFILE_SERIES):
            continue
        series = PROFILE_SERIES[item.address - 1]
        values[series] = None if item.invalid else float(item.value)
        item_flags = qualifier_flags(item.qualifier)
        if item_flags:
            flags[series] = item_flags
    return ProfilePeriod(totals.period_end, values, flags)


def contract_register(contract: int) -> ContractRegister:
    """The record address of contract 1, 2 or 3 (ValueError otherwise)."""
    try:
        return ContractRegister(ContractRegister.CONTRACT_1 + contract - 1)
    except ValueError:
        raise ValueError(f"contract must be 1, 2 or 3, not {contract}") from None


def _valid(value: int, qualifier: int) -> float | None:
    return None if qualifier & Qualifier.INVALID else float(value)


def billing_period(item: BillingObject, contract: int) -> BillingPeriod:
    """One billing object as a record; values the meter flags invalid are None."""
    active, inductive, capacitive = item.active, item.inductive, item.capacitive
    max_valid = not item.max_demand_qualifier & Qualifier.INVALID
    return BillingPeriod(
        contract=contract,
        period=item.tariff_period,
        start=item.start,
        end=item.end,
        active_energy=_valid(active.absolute, active.qualifier),
        active_energy_increment=_valid(active.increment, active.qualifier),
        reactive_inductive_energy=_valid(inductive.absolute, inductive.qualifier),
        reactive_inductive_energy_increment=_valid(inductive.increment, inductive.qualifier),
        reactive_capacitive_energy=_valid(capacitive.absolute, capacitive.qualifier),
        reactive_capacitive_energy_increment=_valid(capacitive.increment, capacitive.qualifier),
        max_demand=float(item.max_demand) if max_valid else None,
        max_demand_time=item.max_demand_time if max_valid else None,
        excess_power=_valid(item.excess_power, item.excess_power_qualifier),
    )
