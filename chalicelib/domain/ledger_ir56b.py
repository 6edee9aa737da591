"""Allowances that count as an employee's taxable income, per Hong Kong tax year, for the employer's return (IR56B).

A mileage or per-diem line paid at a rate above the company's non-taxable rate (the cost it stands for,
chalicelib/domain/allowances.py) is part reimbursement, part income: the part above the cost is income. Each line
that has such a part records the rule that made it taxable, with the rates and the working, and the employee's
total goes in box 11(k) "Any other Rewards, Allowances or Perquisites" with its nature and period.

The tax year runs 1 April to 31 March (Hong Kong year of assessment): `year=2026` is 1 April 2026 - 31 March 2027,
the "2026/27" return. An allowance counts in the year of the day it accrued: the day its claim was approved and
handed to posting (Hong Kong time), which is when the employee became entitled to it.

The CSV's columns are named after the boxes of Form IR56B, "Employer's Return of Remuneration and Pensions"
(Inland Revenue Department, https://www.ird.gov.hk/eng/paf/for.htm; the field list read 2026-12-02 from a public
transcription of the 2022/23 form, and box 11's items as payroll vendors map them, e.g. Talenox's "Mapping of pay
items to IR56B form", per diem allowance -> 11(k)):
1 Employer's File No. / Name of Employer; 2 Name of Employee: Surname, Given Name, Full Name in Chinese;
3(a) H.K. Identity Card Number; 10 Period of employment; 11 Particulars of Income: (k) Any other Rewards,
Allowances or Perquisites (nature, period, amount in HK$ "EXCLUDE CENTS"). Box 10 and the other boxes of 11 come
from payroll, not from expense claims, and are not in this file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.expense import Expense, ExpenseKind
from chalicelib.domain.posting_record import HK, PostingRecord, PostingState, _safe_cell

CENT = Decimal("0.01")
RULES = {ExpenseKind.MILEAGE: "ir56b-11k-mileage-above-cost", ExpenseKind.PER_DIEM: "ir56b-11k-per-diem-above-cost"}
NATURE = {ExpenseKind.MILEAGE: "Mileage allowance above cost", ExpenseKind.PER_DIEM: "Per diem allowance above cost"}


class TaxYear(BaseModel):
    model_config = ConfigDict(frozen=True)

    year: int = Field(ge=2000, le=2100)

    @property
    def first(self) -> date:
        return date(self.year, 4, 1)

    @property
    def last(self) -> date:
        return date(self.year + 1, 3, 31)

    @property
    def label(self) -> str:
        return f"{self.year}/{(self.year + 1) % 100:02d}"

    def periods(self) -> list[str]:
        """The twelve months "YYYY-MM" of the year, April to March (posting records are kept per month)."""
        return [f"{self.year + (m < 4)}-{m:02d}" for m in (*range(4, 13), *range(1, 4))]

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def current_tax_year(now: datetime) -> TaxYear:
    """The tax year a Hong Kong day falls in: from April, the year that started this calendar year."""
    today = now.astimezone(HK).date()
    return TaxYear(year=today.year if today.month >= 4 else today.year - 1)


class TaxableAllowance(BaseModel):
    """One allowance line's taxable part, and why."""

    model_config = ConfigDict(frozen=True)

    employee_id: str
    claim_id: str
    expense_id: str
    kind: str
    accrued_on: date
    paid_hkd: Decimal
    non_taxable_hkd: Decimal
    taxable_hkd: Decimal
    rule_id: str
    rule: str  # in words: the rates, the working, the box


def taxable_part(expense: Expense, employee_id: str, claim_id: str, accrued_on: date) -> TaxableAllowance | None:
    """The part of a booked mileage or per-diem line paid above the non-taxable rate it was priced with, in the HKD
    it was booked at (the same share of it as the rate's excess is of the rate), or None when nothing is taxable."""
    priced, booked = expense.applied_rate, expense.booked
    if expense.kind not in RULES or priced is None or booked is None or priced.non_taxable_rate is None:
        return None
    rate, cost = priced.rate, priced.non_taxable_rate
    if cost.currency != rate.currency:
        raise ValueError(f"expense {expense.expense_id}: non-taxable rate in {cost.currency}, rate in {rate.currency}")
    if rate.amount <= cost.amount or booked.hkd.amount <= 0:
        return None
    taxable = (booked.hkd.amount * (rate.amount - cost.amount) / rate.amount).quantize(CENT, ROUND_HALF_UP)
    unit = priced.unit
    words = (f"{priced.working}: paid {rate.currency} {rate.amount}/{unit}, the company's non-taxable rate is "
             f"{cost.currency} {cost.amount}/{unit} ({priced.source}); the {rate.currency} "
             f"{rate.amount - cost.amount}/{unit} above it is income: HKD {taxable} of HKD {booked.hkd.amount} "
             f"booked, IR56B box 11(k)")
    return TaxableAllowance(employee_id=employee_id, claim_id=claim_id, expense_id=expense.expense_id,
                            kind=expense.kind.value, accrued_on=accrued_on, paid_hkd=booked.hkd.amount,
                            non_taxable_hkd=booked.hkd.amount - taxable, taxable_hkd=taxable,
                            rule_id=RULES[expense.kind], rule=words[:500])


class Ir56bPerson(BaseModel):
    """Boxes 2 and 3(a) as the directory holds them."""

    model_config = ConfigDict(frozen=True)

    employee_id: str
    name: str = Field(repr=False)
    surname: str | None = Field(default=None, repr=False)
    given_name: str | None = Field(default=None, repr=False)
    name_zh: str | None = Field(default=None, repr=False)
    hkid: str | None = Field(default=None, repr=False)


class Ir56bRow(BaseModel):
    """One employee's box 11(k) for the year, from expense claims."""

    employee_id: str
    nature: str
    period_from: date
    period_to: date
    taxable_hkd: Decimal
    lines: list[TaxableAllowance]

    @property
    def amount_box(self) -> int:
        """The form's amount: whole Hong Kong dollars, cents excluded (dropped, never rounded up)."""
        return int(self.taxable_hkd.to_integral_value(ROUND_DOWN))


def accrued_on(record: PostingRecord) -> date:
    """An allowance accrues the day its claim was approved and handed to posting, in Hong Kong."""
    return record.queued_at.astimezone(HK).date()


def counted(records: Iterable[PostingRecord]) -> dict[str, PostingRecord]:
    """The posted record of each claim (a claim re-posted has a failed record in an earlier month too)."""
    return {r.claim_id: r for r in records if r.state == PostingState.POSTED}


def ir56b_rows(year: TaxYear, lines: Iterable[TaxableAllowance]) -> list[Ir56bRow]:
    by_employee: dict[str, list[TaxableAllowance]] = {}
    for line in lines:
        if year.holds(line.accrued_on):
            by_employee.setdefault(line.employee_id, []).append(line)
    rows = []
    for employee_id in sorted(by_employee):
        held = sorted(by_employee[employee_id], key=lambda t: (t.accrued_on, t.claim_id, t.expense_id))
        natures = sorted({NATURE[ExpenseKind(t.kind)] for t in held})
        rows.append(Ir56bRow(employee_id=employee_id, nature="; ".join(natures), period_from=held[0].accrued_on,
                             period_to=held[-1].accrued_on,
                             taxable_hkd=sum((t.taxable_hkd for t in held), Decimal(0)), lines=held))
    return rows


def mask_hkid(hkid: str | None) -> str:
    """A123456(7) -> A1*****(*): the letter and first digit, enough to tell two people apart on a list."""
    if not hkid:
        return ""
    match = re.match(r"^([A-Z]{1,2}[0-9])", hkid)
    return f"{match.group(1) if match else ''}*****(*)"


IR56B_HEADER = ("tax_year", "1_employer_file_no", "1_name_of_employer", "employee_id", "2_surname", "2_given_name",
                "2_full_name_in_chinese", "3a_hk_identity_card_number", "11k_nature", "11k_period_from",
                "11k_period_to", "11k_amount_hkd", "taxable_hkd_with_cents", "rules_applied")
DETAIL_HEADER = ("employee_id", "claim_id", "expense_id", "kind", "accrued_on", "paid_hkd", "non_taxable_hkd",
                 "taxable_hkd", "rule_id", "rule")


def ir56b_csv(year: TaxYear, rows: Iterable[Ir56bRow], people: Mapping[str, Ir56bPerson], *, employer_name: str,
              employer_file_no: str = "", show_hkid: bool) -> str:
    """The employees' box 11(k) rows, then every taxable line with its rule. `show_hkid` False masks box 3(a)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(IR56B_HEADER)
    rows = list(rows)
    for row in rows:
        person = people.get(row.employee_id) or Ir56bPerson(employee_id=row.employee_id, name=row.employee_id)
        surname = person.surname if person.surname else person.name
        hkid = (person.hkid or "") if show_hkid else mask_hkid(person.hkid)
        writer.writerow([_safe_cell(str(c)) for c in (
            year.label, employer_file_no, employer_name, row.employee_id, surname, person.given_name or "",
            person.name_zh or "", hkid, row.nature, row.period_from.strftime("%d/%m/%Y"),
            row.period_to.strftime("%d/%m/%Y"), row.amount_box, f"{row.taxable_hkd:.2f}",
            " ".join(sorted({t.rule_id for t in row.lines})))])
    writer.writerow(())
    writer.writerow(DETAIL_HEADER)
    for row in rows:
        for t in row.lines:
            writer.writerow([_safe_cell(str(c)) for c in (
                t.employee_id, t.claim_id, t.expense_id, t.kind, t.accrued_on.isoformat(), f"{t.paid_hkd:.2f}",
                f"{t.non_taxable_hkd:.2f}", f"{t.taxable_hkd:.2f}", t.rule_id, t.rule)])
    return out.getvalue()
