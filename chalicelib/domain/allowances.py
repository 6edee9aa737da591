"""Expenses without a receipt, priced by the company's policy: mileage, per diem, and a lost receipt.

The rates are data finance keeps in the policy, each with its source; every line priced here records the rate
it used and how the amount was reached, so an approver or auditor years later sees why it is that amount.
Arithmetic is Decimal, rounded once at the end to the currency's minor units (ISO 4217, ROUND_HALF_UP).

Salaries tax: a mileage or per-diem rate may pay more than the cost it stands for. Each rate can name the
company's non-taxable rate (what it considers the cost: running a car per km, a day's subsistence); the part
paid above it is income the employer reports on the employee's IR56B, box 11(k) (chalicelib/domain/ledger_ir56b.py).
A priced line carries the non-taxable rate it was priced with, so the split is the one in force on the day.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.domain.errors import InvalidClaim
from chalicelib.domain.money import Money

Meal = Literal["breakfast", "lunch", "dinner"]
MAX_DISTANCE_KM = Decimal("5000")  # one line; a longer trip is several lines (or a typo)
MAX_DAYS = Decimal("90")


class MileageRate(BaseModel):
    vehicle: str  # private_car | motorcycle | ...
    per_km: Money
    source: str
    non_taxable_per_km: Money | None = None  # the cost per km; paid above it is taxable (None: all of it is cost)


class PerDiemRate(BaseModel):
    destination: str  # HK | CN-SZ | CN | MO | overseas ...
    daily: Money
    meal_deductions: dict[Meal, Decimal] = Field(default_factory=dict)  # share of `daily` per meal provided
    source: str
    non_taxable_daily: Money | None = None  # a day's cost; paid above it is taxable (None: all of it is cost)


class AllowancePolicy(BaseModel):
    mileage: list[MileageRate] = Field(default_factory=list)
    per_diem: list[PerDiemRate] = Field(default_factory=list)
    lost_receipt_max_hkd: Decimal = Decimal("300")  # above it a lost receipt cannot be claimed as a manual line
    # categories whose receipt is required above an HKD amount: a lost-receipt line above it is refused
    receipt_required_over_hkd: dict[str, Decimal] = Field(default_factory=dict)


class AppliedRate(BaseModel):
    """What a priced line carries: the amount, the rate and its source, and the working in words."""

    amount: Money
    rate: Money
    quantity: Decimal
    unit: str
    source: str
    working: str
    #: the company's non-taxable rate per unit when the line was priced (same currency as `rate`); None: the rate
    #: is all cost, nothing taxable
    non_taxable_rate: Money | None = None


def mileage(policy: AllowancePolicy, vehicle: str, distance_km: Decimal) -> AppliedRate:
    rate = next((r for r in policy.mileage if r.vehicle == vehicle), None)
    if rate is None:
        known = ", ".join(r.vehicle for r in policy.mileage) or "none"
        raise InvalidClaim(f"no mileage rate for {vehicle!r}; the policy has: {known}")
    if not (0 < distance_km <= MAX_DISTANCE_KM):
        raise InvalidClaim(f"the distance must be more than 0 and at most {MAX_DISTANCE_KM} km")
    amount = Money(amount=rate.per_km.amount * distance_km, currency=rate.per_km.currency).quantized()
    return AppliedRate(amount=amount, rate=rate.per_km, quantity=distance_km, unit="km", source=rate.source,
                       working=f"{distance_km} km × {rate.per_km.currency} {rate.per_km.amount}/km ({vehicle})",
                       non_taxable_rate=rate.non_taxable_per_km)


def per_diem(policy: AllowancePolicy, destination: str, days: Decimal,
             meals_provided: dict[Meal, int] | None = None) -> AppliedRate:
    """`meals_provided`: how many of each meal the trip provided (a hosted dinner, hotel breakfasts); each is
    deducted at its share of one day's rate, and the line never goes below zero."""
    rate = next((r for r in policy.per_diem if r.destination == destination), None)
    if rate is None:
        known = ", ".join(r.destination for r in policy.per_diem) or "none"
        raise InvalidClaim(f"no per-diem rate for {destination!r}; the policy has: {known}")
    if not (0 < days <= MAX_DAYS) or days % Decimal("0.5"):
        raise InvalidClaim(f"per diem is claimed in whole or half days, more than 0 and at most {MAX_DAYS}")
    meals = {meal: n for meal, n in (meals_provided or {}).items() if n}
    if any(n < 0 or n > days.to_integral_value(rounding="ROUND_CEILING") for n in meals.values()):
        raise InvalidClaim("a meal cannot be provided more often than there are days, nor fewer than zero times")
    gross = rate.daily.amount * days
    cut = sum((rate.daily.amount * rate.meal_deductions.get(meal, Decimal("0")) * n for meal, n in meals.items()),
              Decimal("0"))
    amount = Money(amount=max(gross - cut, Decimal("0")), currency=rate.daily.currency).quantized()
    working = f"{days} day(s) × {rate.daily.currency} {rate.daily.amount} ({destination})"
    if meals:
        working += " less " + ", ".join(
            f"{n} × {meal} at {(rate.meal_deductions.get(meal, Decimal('0')) * 100).normalize():f}%"
            for meal, n in sorted(meals.items()))
    return AppliedRate(amount=amount, rate=rate.daily, quantity=days, unit="day", source=rate.source,
                       working=working, non_taxable_rate=rate.non_taxable_daily)


def lost_receipt_refusal(policy: AllowancePolicy, amount_hkd: Decimal, category: str | None = None) -> str | None:
    """Why a manual line for a lost receipt may not be claimed, or None (it is still flagged for review)."""
    if amount_hkd > policy.lost_receipt_max_hkd:
        return (f"without a receipt the policy allows up to HKD {policy.lost_receipt_max_hkd:,}; "
                f"this is HKD {amount_hkd:,}")
    needed_over = policy.receipt_required_over_hkd.get(category or "")
    if needed_over is not None and amount_hkd > needed_over:
        return (f"{category} needs a receipt above HKD {needed_over:,}; this is HKD {amount_hkd:,}: "
                "ask the vendor for a copy")
    return None


SAMPLE_SOURCE = "company expense policy 2026 (sample)"
DEFAULT_ALLOWANCES = AllowancePolicy(
    mileage=[
        MileageRate(vehicle="private_car", per_km=Money.of("3.50", "HKD"), source=SAMPLE_SOURCE,
                    non_taxable_per_km=Money.of("3.00", "HKD")),
        MileageRate(vehicle="motorcycle", per_km=Money.of("1.80", "HKD"), source=SAMPLE_SOURCE,
                    non_taxable_per_km=Money.of("1.80", "HKD")),
    ],
    per_diem=[
        PerDiemRate(destination=dest, daily=Money.of(amount, currency), source=SAMPLE_SOURCE,
                    meal_deductions={"breakfast": Decimal("0.15"), "lunch": Decimal("0.30"),
                                     "dinner": Decimal("0.35")}, non_taxable_daily=Money.of(cost, currency))
        for dest, amount, cost, currency in (("HK", "300", "250", "HKD"), ("CN-SZ", "350", "350", "CNY"),
                                             ("CN", "400", "400", "CNY"), ("MO", "450", "450", "MOP"),
                                             ("overseas", "120", "120", "USD"))
    ],
    receipt_required_over_hkd={"entertainment": Decimal("0"), "travel": Decimal("200")},
)
