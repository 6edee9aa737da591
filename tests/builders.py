"""Claims for tests, written the short way: `receipt_claim(vendor=..., total=...)` is a one-expense claim whose
expense takes the receipt's fields and whose claim takes the rest. The old one-receipt statuses (`uploaded`,
`extracted`, `needs_review`) give a draft claim with the expense in that state."""

from __future__ import annotations

import hashlib
from datetime import date

from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import Expense, ExpenseStatus
from chalicelib.domain.money import Money

EXPENSE_FIELDS = frozenset(Expense.model_fields) - {"expense_id", "employee_id", "status", "version", "created_at",
                                                   "updated_at", "risk_reasons", "failure_reason"}
READING = {"uploaded", "extracted", "needs_review"}


def receipt(expense_id: str = "e-1", employee_id: str = "E201", status: ExpenseStatus | str = "extracted",
            **fields: object) -> Expense:
    """HK$90 at Tsui Wah unless told otherwise."""
    data: dict = dict(expense_id=expense_id, employee_id=employee_id, status=status, s3_key=f"uploads/{expense_id}.jpg",
                      file_sha256=hashlib.sha256(expense_id.encode()).hexdigest(), vendor="Tsui Wah 翠華",
                      receipt_date=date(2026, 11, 3), total=Money.of("90.00", "HKD"))
    data.update(fields)
    return Expense(**data)


def receipt_claim(claim_id: str = "c-1", employee_id: str = "E1", department_id: str = "D1",
                  status: ClaimStatus | str = ClaimStatus.DRAFT, expense_id: str | None = None,
                  **fields: object) -> Claim:
    status = str(getattr(status, "value", status))
    expense_status = status if status in READING else "extracted"
    if status in READING:
        status = ClaimStatus.DRAFT.value
    if fields.get("review_reasons") and expense_status == "extracted":
        expense_status = "needs_review"
    expense_fields = {k: fields.pop(k) for k in list(fields) if k in EXPENSE_FIELDS and k != "cost_centre"}
    for time in ("created_at", "updated_at"):
        if time in fields:
            expense_fields[time] = fields[time]
    expense = receipt(expense_id or f"e-{claim_id}", employee_id, expense_status, **expense_fields)
    return Claim(claim_id=claim_id, employee_id=employee_id, department_id=department_id, status=status,
                 expenses=[expense], **fields)


def receipt_changes(claim: Claim, **changes: object) -> dict:
    """`Claim.moved_to`/`model_copy` changes that alter the claim's only expense."""
    [only] = claim.expenses
    return {"expenses": [only.model_copy(update=changes)]}
