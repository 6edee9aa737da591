"""Allowances paid above their non-taxable rate, per employee and Hong Kong tax year, for IR56B box 11(k)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.allowances import DEFAULT_ALLOWANCES, mileage, per_diem
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import BookedAmount, Expense, ExpenseKind, ExpenseStatus
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.ledger_ir56b import (
    DETAIL_HEADER,
    IR56B_HEADER,
    Ir56bPerson,
    TaxYear,
    current_tax_year,
    ir56b_csv,
    ir56b_rows,
    mask_hkid,
    taxable_part,
)
from chalicelib.domain.money import Money
from chalicelib.services import posting
from tests.unit.services.test_ledger_posting import World


def line(kind: ExpenseKind, priced, booked_hkd: str | None = None, expense_id: str = "e-1") -> Expense:
    booked = None if booked_hkd is None else BookedAmount(
        original=priced.amount, hkd=Money.of(booked_hkd, "HKD"), rate=Decimal(1), rate_date=date(2026, 11, 20),
        rate_source="base currency", rule="receipt_date")
    return Expense(expense_id=expense_id, employee_id="E201", kind=kind, status=ExpenseStatus.EXTRACTED,
                   total=priced.amount, applied_rate=priced, booked=booked, category="travel")


def test_the_tax_year_runs_april_to_march_and_names_its_months():
    year = TaxYear(year=2026)
    assert (year.first, year.last, year.label) == (date(2026, 4, 1), date(2027, 3, 31), "2026/27")
    assert year.periods()[0] == "2026-04" and year.periods()[-1] == "2027-03" and len(year.periods()) == 12
    assert current_tax_year(datetime(2027, 3, 31, 15, 59, tzinfo=UTC)).year == 2026  # 23:59 in Hong Kong
    assert current_tax_year(datetime(2027, 3, 31, 16, 0, tzinfo=UTC)).year == 2027  # 1 April in Hong Kong


def test_mileage_above_the_non_taxable_rate_is_taxable_in_the_hkd_booked_with_the_rule_in_words():
    priced = mileage(DEFAULT_ALLOWANCES, "private_car", Decimal("42"))  # 3.50/km paid, 3.00/km cost
    part = taxable_part(line(ExpenseKind.MILEAGE, priced, "147.00"), "E201", "c-1", date(2026, 11, 20))
    assert (part.paid_hkd, part.non_taxable_hkd, part.taxable_hkd) == (
        Decimal("147.00"), Decimal("126.00"), Decimal("21.00"))
    assert part.rule_id == "ir56b-11k-mileage-above-cost"
    assert "HKD 3.00/km" in part.rule and "box 11(k)" in part.rule and "42 km" in part.rule


def test_a_foreign_per_diem_is_split_in_the_hkd_it_was_booked_at_and_meals_provided_cut_both_sides():
    policy = DEFAULT_ALLOWANCES.model_copy(deep=True)
    policy.per_diem[2] = policy.per_diem[2].model_copy(update={"non_taxable_daily": Money.of("300", "CNY")})
    priced = per_diem(policy, "CN", Decimal("2"), {"breakfast": 2})  # 400 CNY/day, cost 300: a quarter is income
    part = taxable_part(line(ExpenseKind.PER_DIEM, priced, "745.20"), "E201", "c-1", date(2026, 11, 20))
    assert part.taxable_hkd == Decimal("186.30") and part.rule_id == "ir56b-11k-per-diem-above-cost"


@pytest.mark.parametrize("case", ["at_cost", "no_cost_named", "not_booked", "receipt"])
def test_nothing_is_taxable_at_or_below_cost_or_before_it_is_booked(case):
    priced = mileage(DEFAULT_ALLOWANCES, "motorcycle", Decimal("10"))  # paid at cost
    expense = {
        "at_cost": line(ExpenseKind.MILEAGE, priced, "18.00"),
        "no_cost_named": line(ExpenseKind.MILEAGE, mileage(DEFAULT_ALLOWANCES, "private_car", Decimal("10"))
                              .model_copy(update={"non_taxable_rate": None}), "35.00"),
        "not_booked": line(ExpenseKind.MILEAGE, mileage(DEFAULT_ALLOWANCES, "private_car", Decimal("10"))),
        "receipt": line(ExpenseKind.RECEIPT, mileage(DEFAULT_ALLOWANCES, "private_car", Decimal("10")), "35.00"),
    }[case]
    assert taxable_part(expense, "E201", "c-1", date(2026, 11, 20)) is None


def test_the_csv_has_a_row_per_employee_named_after_the_boxes_cents_excluded_and_every_line_with_its_rule():
    year = TaxYear(year=2026)
    car = mileage(DEFAULT_ALLOWANCES, "private_car", Decimal("43"))  # 150.50 paid, 21.50 taxable
    lines = [taxable_part(line(ExpenseKind.MILEAGE, car, "150.50", f"e-{n}"), "E201", f"c-{n}", day)
             for n, day in ((1, date(2026, 5, 2)), (2, date(2027, 3, 30)), (3, date(2027, 4, 1)))]
    rows = ir56b_rows(year, lines)
    assert len(rows) == 1 and rows[0].taxable_hkd == Decimal("43.00") and len(rows[0].lines) == 2  # April 2027 out
    people = {"E201": Ir56bPerson(employee_id="E201", name="黃小明 Wong Siu Ming", surname="WONG",
                                  given_name="Siu Ming", name_zh="黃小明", hkid="A123456(7)")}
    full = ir56b_csv(year, rows, people, employer_name="Example Ltd", show_hkid=True)
    table = list(csv.reader(io.StringIO(full)))
    assert tuple(table[0]) == IR56B_HEADER
    row = dict(zip(IR56B_HEADER, table[1], strict=True))
    assert (row["tax_year"], row["2_surname"], row["2_given_name"], row["3a_hk_identity_card_number"]) == (
        "2026/27", "WONG", "Siu Ming", "A123456(7)")
    assert (row["11k_period_from"], row["11k_period_to"], row["11k_amount_hkd"], row["taxable_hkd_with_cents"]) == (
        "02/05/2026", "30/03/2027", "43", "43.00")
    assert tuple(table[3]) == DETAIL_HEADER and len(table) == 6
    masked = ir56b_csv(year, rows, people, employer_name="Example Ltd", show_hkid=False)
    assert "A123456(7)" not in masked and "A1*****(*)" in masked
    assert mask_hkid("AB987654(A)") == "AB9*****(*)" and mask_hkid(None) == ""


def test_posted_allowance_lines_of_the_year_come_from_the_posting_records_once_per_claim():
    w = World(ledger="internal")
    car = mileage(DEFAULT_ALLOWANCES, "private_car", Decimal("42"))
    claim = Claim(claim_id="c-trip", employee_id="E201", department_id="HK-SALES", status=ClaimStatus.APPROVED,
                  cost_centre="CC-2100", expenses=[
                      Expense(expense_id="e-m", employee_id="E201", kind=ExpenseKind.MILEAGE, total=car.amount,
                              applied_rate=car, category="travel", status=ExpenseStatus.EXTRACTED,
                              description="office to client site")])
    w.app.claims.create(claim, SYSTEM)
    assert posting.post(w.ctx, "c-trip")["status"] == "posted"

    body, employees = posting.ir56b_export(w.ctx, TaxYear(year=2026), show_hkid=False)

    table = list(csv.reader(io.StringIO(body)))
    assert employees == 1 and table[1][IR56B_HEADER.index("11k_amount_hkd")] == "21"
    assert posting.ir56b_export(w.ctx, TaxYear(year=2025), show_hkid=False)[1] == 0
    assert posting.ir56b_export(w.ctx, TaxYear(year=2026), show_hkid=False, department_id="SZ-FIN")[1] == 0
