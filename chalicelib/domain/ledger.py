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


def journal_for(claim: Claim, fx: FxTable, entry_date: date,
                advance_lines: list[JournalLine] | None = None) -> JournalEntry:
    """The approved amount is booked, expense by expense (less whatever an approver disallowed), each to its
    category's account and cost centre, in HKD with the original amount beside it; the employee is owed the sum.
    A claim settling a cash advance books `advance_lines` (domain.advance.settlement_journal_lines: the advance
    cleared, the difference paid or recovered) instead of the employee credit."""
    debits: list[JournalLine] = []
    for expense in claim.expenses:
        payable = expense.payable()
        if payable is None or payable.amount <= 0:
            continue
        text = f"Expense claim {claim.claim_id}: {expense.label}"
        if payable.amount != expense.total.amount:
            text += f" (partly approved: {payable.amount} of {expense.total.amount} {payable.currency})"
        debits.append(JournalLine(account=EXPENSE_ACCOUNTS.get(expense.category, "6190"),
                                  cost_centre=expense.cost_centre or claim.cost_centre,
                                  debit_hkd=fx.to_hkd(payable).amount, description=text[:300],
                                  original_amount=payable.amount, original_currency=payable.currency))
    if not debits:
        raise UnbalancedEntry("an approved claim with nothing payable cannot be posted")
    owed = sum((line.debit_hkd for line in debits), Decimal("0"))
    credits = advance_lines or [JournalLine(account=EMPLOYEE_PAYABLE, cost_centre=claim.cost_centre, credit_hkd=owed,
                                            description=f"Expense claim {claim.claim_id}: {claim.headline}"[:300],
                                            original_amount=owed, original_currency="HKD")]
    return JournalEntry(journal_id=f"JE-{claim.claim_id}", claim_id=claim.claim_id, entry_date=entry_date,
                        lines=[*debits, *credits])
