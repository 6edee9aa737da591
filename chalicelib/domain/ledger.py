"""A double-entry journal for an approved claim: expense debited, employee payable credited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, model_validator

from chalicelib.domain.claim import Claim
from chalicelib.domain.money import FxTable

EXPENSE_ACCOUNTS = {
    "meals": "6110",
    "entertainment": "6120",
    "taxi": "6130",
    "travel": "6140",
    "general": "6190",
}
EMPLOYEE_PAYABLE = "2150"


class UnbalancedEntry(ValueError):
    pass


class JournalLine(BaseModel):
    account: str
    cost_centre: str | None
    debit_hkd: Decimal = Decimal("0")
    credit_hkd: Decimal = Decimal("0")
    description: str
    original_amount: Decimal
    original_currency: str


class JournalEntry(BaseModel):
    journal_id: str
    claim_id: str
    entry_date: date
    lines: list[JournalLine]

    @model_validator(mode="after")
    def _balanced(self) -> JournalEntry:
        debit = sum((line.debit_hkd for line in self.lines), Decimal("0"))
        credit = sum((line.credit_hkd for line in self.lines), Decimal("0"))
        if debit != credit or debit <= 0:
            raise UnbalancedEntry(f"journal {self.journal_id}: debit {debit} != credit {credit}")
        return self


def journal_for(claim: Claim, fx: FxTable, entry_date: date) -> JournalEntry:
    """The approved amount is booked: the total less any line an approver disallowed."""
    payable = claim.payable()
    if payable is None:
        raise UnbalancedEntry("an approved claim without a total cannot be posted")
    hkd = fx.to_hkd(payable).amount
    text = f"Expense claim {claim.claim_id}: {claim.vendor or ''}".strip()
    if payable.amount != claim.total.amount:
        text += f" (partly approved: {payable.amount} of {claim.total.amount} {payable.currency})"
    common = {
        "cost_centre": claim.cost_centre,
        "description": text,
        "original_amount": payable.amount,
        "original_currency": payable.currency,
    }
    return JournalEntry(
        journal_id=f"JE-{claim.claim_id}",
        claim_id=claim.claim_id,
        entry_date=entry_date,
        lines=[
            JournalLine(account=EXPENSE_ACCOUNTS.get(claim.category, "6190"), debit_hkd=hkd, **common),
            JournalLine(account=EMPLOYEE_PAYABLE, credit_hkd=hkd, **common),
        ],
    )
