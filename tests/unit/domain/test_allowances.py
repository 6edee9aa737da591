"""Mileage, per diem and lost receipts priced by the policy: Decimal arithmetic, the rate and its source
recorded on the line, and clear refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.domain.allowances import (
    DEFAULT_ALLOWANCES,
    AllowancePolicy,
    MileageRate,
    PerDiemRate,
    lost_receipt_refusal,
    mileage,
    per_diem,
)
from chalicelib.domain.claim import InvalidClaim
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy

POLICY = AllowancePolicy(
    mileage=[MileageRate(vehicle="private_car", per_km=Money.of("3.35", "HKD"), source="HR circular 7/2026")],
    per_diem=[PerDiemRate(destination="CN-SZ", daily=Money.of("350", "CNY"), source="HR circular 7/2026",
                          meal_deductions={"breakfast": Decimal("0.15"), "dinner": Decimal("0.35")}),
              PerDiemRate(destination="JP", daily=Money.of("9999", "JPY"), source="HR circular 7/2026")],
    lost_receipt_max_hkd=Decimal("300"),
)


def test_mileage_is_distance_times_the_rate_rounded_once_and_records_its_source():
    line = mileage(POLICY, "private_car", Decimal("42.7"))  # 143.045 -> 143.05 (half up)
    assert line.amount == Money.of("143.05", "HKD") and line.amount.amount.as_tuple().exponent == -2
    assert (line.rate, line.quantity, line.unit) == (Money.of("3.35", "HKD"), Decimal("42.7"), "km")
    assert line.source == "HR circular 7/2026" and line.working == "42.7 km × HKD 3.35/km (private_car)"


@pytest.mark.parametrize(("vehicle", "km", "why"), [
    ("helicopter", "10", "no mileage rate for 'helicopter'; the policy has: private_car"),
    ("private_car", "0", "more than 0"), ("private_car", "-5", "more than 0"), ("private_car", "5000.1", "at most")])
def test_mileage_refuses_unknown_vehicles_and_impossible_distances(vehicle, km, why):
    with pytest.raises(InvalidClaim, match=why):
        mileage(POLICY, vehicle, Decimal(km))


def test_per_diem_is_days_times_the_destination_rate_less_the_meals_provided():
    line = per_diem(POLICY, "CN-SZ", Decimal("2.5"), {"breakfast": 2, "dinner": 1})
    # 2.5 × 350 = 875.00, less 2 × 52.50 (breakfast 15%) and 1 × 122.50 (dinner 35%) = 647.50
    assert line.amount == Money.of("647.50", "CNY") and line.unit == "day" and line.quantity == Decimal("2.5")
    assert line.source == "HR circular 7/2026"
    assert line.working == "2.5 day(s) × CNY 350 (CN-SZ) less 2 × breakfast at 15%, 1 × dinner at 35%"


def test_per_diem_rounds_to_the_currencys_minor_units_and_never_goes_below_zero():
    assert per_diem(POLICY, "JP", Decimal("0.5")).amount == Money.of("5000", "JPY")  # 4999.5 -> 5000 (JPY: 0 places)
    generous = POLICY.model_copy(deep=True)
    generous.per_diem[0].meal_deductions = {"breakfast": Decimal("0.6"), "dinner": Decimal("0.6")}
    assert per_diem(generous, "CN-SZ", Decimal("1"), {"breakfast": 1, "dinner": 1}).amount == Money.of("0", "CNY")


@pytest.mark.parametrize(("destination", "days", "meals", "why"), [
    ("Atlantis", "1", None, "no per-diem rate for 'Atlantis'"), ("CN-SZ", "0", None, "whole or half days"),
    ("CN-SZ", "1.25", None, "whole or half days"), ("CN-SZ", "91", None, "at most 90"),
    ("CN-SZ", "1", {"dinner": 2}, "more often than there are days"), ("CN-SZ", "2", {"dinner": -1}, "fewer than zero")])
def test_per_diem_refuses_what_the_policy_cannot_price(destination, days, meals, why):
    with pytest.raises(InvalidClaim, match=why):
        per_diem(POLICY, destination, Decimal(days), meals)


def test_a_lost_receipt_is_allowed_up_to_the_policy_limit_only():
    assert lost_receipt_refusal(POLICY, Decimal("300")) is None
    assert lost_receipt_refusal(POLICY, Decimal("300.01")) == (
        "without a receipt the policy allows up to HKD 300; this is HKD 300.01")


def test_the_company_policy_carries_default_rates_that_finance_can_replace():
    policy = Policy()
    assert {r.destination for r in policy.allowances.per_diem} == {"HK", "CN-SZ", "CN", "MO", "overseas"}
    assert mileage(policy.allowances, "private_car", Decimal("10")).amount == Money.of("35.00", "HKD")
    stored = Policy.model_validate_json(policy.model_copy(update={"allowances": POLICY}).model_dump_json())
    assert stored.allowances == POLICY  # kept as data with the policy, sources included
    assert Policy.model_validate({"company": "old"}).allowances == DEFAULT_ALLOWANCES  # a policy stored before
