"""Weak evidence: a line entered for a lost receipt, or a receipt extraction was unsure of."""

from __future__ import annotations

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.expense import Expense, ExpenseKind


def weak_evidence(expense: Expense) -> list[Finding]:
    if expense.kind == ExpenseKind.LOST_RECEIPT:
        return [Finding(0.3, "no receipt: lost-receipt line / 遺失收據，以人手輸入申報", "no_receipt")]
    if expense.review_reasons:
        return [Finding(0.3, "extraction needed review / 收據識別需人工覆核", "needs_review")]
    return []
