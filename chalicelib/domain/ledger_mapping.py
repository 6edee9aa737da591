"""An approved claim as any ledger is told it: HKD lines with their original amounts and rates, a rounding line,
and the employee owed the total. Each ledger adapter (Xero, QuickBooks, NetSuite, Yonyou, a CSV export) maps this
one shape to its own payload, so the money is worked out once, here, and every ledger books the same cents.

The external id is the claim id: every ledger stores it on the document (Xero: the bill's InvoiceNumber, shown as
"Reference" on bills), which is how a retry finds a document that was written but never acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.domain.advance import Settlement
from chalicelib.domain.claim import Claim
from chalicelib.domain.fx_rates import BASE_CURRENCY, AppliedRate, RateBook, RateRule, convert
from chalicelib.domain.ledger_tax import PROFITS_TAX_RULES, ProfitsTaxRule, ProfitsTaxTag, profits_tax_tag
from chalicelib.domain.money import Money

#: category -> expense account, as the fixed journal books them today (chalicelib.domain.ledger.EXPENSE_ACCOUNTS)
DEFAULT_EXPENSE_ACCOUNTS: Mapping[str, str] = {
    "meals": "6110", "entertainment": "6120", "taxi": "6130", "travel": "6140", "general": "6190"}


class UnpostableClaim(ValueError):
    """The claim cannot become a posting (nothing payable, no rate...): it fails with this reason."""


class PostingLine(BaseModel):
    """One expense: its HKD amount (what is booked) with the original amount and rate beside it."""

    model_config = ConfigDict(frozen=True)

    expense_id: str
    category: str
    description: str = Field(max_length=300)
    cost_centre: str | None
    original: Money
    rate: AppliedRate
    hkd: Money
    #: Hong Kong profits tax: deductible or not, and the rule that decided (domain/ledger_tax.py); None only on
    #: postings built before the tag existed
    profits_tax: ProfitsTaxTag | None = None

    def described(self, limit: int = 300) -> str:
        """The description with the profits tax tag after it, for a ledger given no dimension to hold the tag."""
        if self.profits_tax is None:
            return self.description[:limit]
        note = f" [profits tax: {self.profits_tax.label}]"
        return self.description[:max(0, limit - len(note))] + note


class ReceiptFile(BaseModel):
    """A receipt to attach to the ledger document; the bytes are read by the service (from S3) when posting."""

    model_config = ConfigDict(frozen=True)

    file_name: str = Field(min_length=1, max_length=200)
    content_type: str
    content: bytes = Field(repr=False)


class AdvanceOffset(BaseModel):
    """A paid cash advance the claim clears (chalicelib/domain/advance.py), in HKD as booked when it was paid:
    the advance receivable is cleared in full; the employee is owed only what the claim exceeds it by
    (`pay_employee`), or owes back what the claim did not use (`recover_from_employee`). So
    advance + pay_employee - recover_from_employee == the claim's total (checked on the Posting)."""

    model_config = ConfigDict(frozen=True)

    advance_id: str
    advance: Money
    pay_employee: Money
    recover_from_employee: Money

    @classmethod
    def of(cls, advance_id: str, settlement: Settlement) -> AdvanceOffset:
        return cls(advance_id=advance_id, advance=settlement.advance, pay_employee=settlement.pay_employee,
                   recover_from_employee=settlement.recover_from_employee)

    @property
    def cleared_text(self) -> str:
        return f"Cash advance {self.advance_id} cleared by this claim"

    @property
    def recover_text(self) -> str:
        return f"Cash advance {self.advance_id}: unused part to be repaid by the employee"


class Posting(BaseModel):
    """What a ledger books for one approved claim. `lines` + `rounding` == `total` exactly (checked). With an
    `advance`, the employee is owed `owed` (the total less the advance, never below zero), not the total."""

    model_config = ConfigDict(frozen=True)

    #: the claim id; letters, digits and . _ : - only, so it is safe inside a ledger's query language
    external_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    employee_id: str
    employee_name: str = Field(repr=False)  # the ledger contact; personal data: never logged
    cost_centre: str | None
    entry_date: date
    description: str = Field(max_length=300)
    lines: list[PostingLine] = Field(min_length=1)
    rounding: Money
    total: Money
    advance: AdvanceOffset | None = None

    @property
    def owed(self) -> Money:
        """What the employee is paid: the total, or with an advance what the claim exceeds it by."""
        return self.advance.pay_employee if self.advance else self.total

    @model_validator(mode="after")
    def _adds_up(self) -> Posting:
        if {self.rounding.currency, self.total.currency, *(line.hkd.currency for line in self.lines)} != {
                BASE_CURRENCY}:
            raise ValueError("a posting is booked in HKD")
        booked = sum((line.hkd.amount for line in self.lines), Decimal(0)) + self.rounding.amount
        if booked != self.total.amount:
            raise ValueError(f"posting {self.external_id}: lines and rounding {booked} != total {self.total.amount}")
        if self.total.amount <= 0:
            raise ValueError(f"posting {self.external_id}: nothing payable")
        a = self.advance
        if a is not None:
            if {a.advance.currency, a.pay_employee.currency, a.recover_from_employee.currency} != {BASE_CURRENCY}:
                raise ValueError("an advance is offset in HKD")
            if a.advance.amount + a.pay_employee.amount - a.recover_from_employee.amount != self.total.amount or min(
                    a.pay_employee.amount, a.recover_from_employee.amount) != 0:
                raise ValueError(f"posting {self.external_id}: advance {a.advance_id} does not settle the total")
        return self


def posting_for(claim: Claim, employee_name: str, book: RateBook, entry_date: date,
                rule: RateRule = RateRule.RECEIPT_DATE, payment_date: date | None = None,
                tax_rules: Sequence[ProfitsTaxRule] = PROFITS_TAX_RULES) -> Posting:
    """The approved amounts (less whatever approvers disallowed), each at the rate the company's rule applies
    on its receipt date (a line without one, such as a mileage line, at the entry date), each tagged for
    profits tax by the first of `tax_rules` that matches it."""
    items = []
    by_id = {}
    for expense in claim.expenses:
        payable = expense.payable()
        if payable is None or payable.amount <= 0:
            continue
        on = expense.receipt_date or entry_date
        items.append((expense.expense_id, payable, book.rate_for(payable.currency, on, rule, payment_date)))
        by_id[expense.expense_id] = expense
    if not items:
        raise UnpostableClaim(f"claim {claim.claim_id} has nothing payable")
    conversion = convert(items)
    lines = []
    for converted in conversion.lines:
        expense = by_id[converted.key]
        text = f"{expense.label}" if expense.label else expense.category
        if converted.original.currency != BASE_CURRENCY:
            text += (f" ({converted.original.currency} {converted.original.amount} at {converted.rate.hkd_per_unit}"
                     f" {converted.rate.source} {converted.rate.rate_date.isoformat()})")
        lines.append(PostingLine(expense_id=expense.expense_id, category=expense.category, description=text[:300],
                                 cost_centre=expense.cost_centre or claim.cost_centre, original=converted.original,
                                 rate=converted.rate, hkd=converted.hkd,
                                 profits_tax=profits_tax_tag(expense.category, expense.kind.value,
                                                             expense.description, tax_rules)))
    return Posting(external_id=claim.claim_id, employee_id=claim.employee_id, employee_name=employee_name,
                   cost_centre=claim.cost_centre, entry_date=entry_date,
                   description=f"Expense claim {claim.claim_id}", lines=lines, rounding=conversion.rounding,
                   total=conversion.total)
