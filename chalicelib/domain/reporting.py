"""What a finance manager reads first: how many claims where, how much money, how fast, what looks wrong."""

from __future__ import annotations

import statistics
from collections import Counter
from decimal import Decimal

from pydantic import BaseModel

from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import ExpenseStatus
from chalicelib.domain.money import FxTable


class DepartmentSummary(BaseModel):
    count: int
    by_status: dict[str, int]
    hkd_by_status: dict[str, Decimal]
    hkd_posted_by_category: dict[str, Decimal]
    flagged: int  # claims with risk reasons
    needs_review: int  # claims with an expense extraction was unsure of
    median_hours_to_posting: float | None


def summarise(claims: list[Claim], fx: FxTable) -> DepartmentSummary:
    by_status = Counter(c.status.value for c in claims)
    hkd_by_status: dict[str, Decimal] = {}
    posted_by_category: dict[str, Decimal] = {}
    for claim in claims:
        try:  # a partly approved claim counts at what is reimbursed
            hkd = claim.payable_hkd(fx).amount
        except ValueError:  # a currency without a configured rate is counted, not valued
            continue
        hkd_by_status[claim.status.value] = hkd_by_status.get(claim.status.value, Decimal(0)) + hkd
        if claim.status == ClaimStatus.POSTED:
            for expense in claim.expenses:
                paid = expense.payable()
                if paid is not None:
                    posted_by_category[expense.category] = (posted_by_category.get(expense.category, Decimal(0))
                                                            + fx.to_hkd(paid).amount)
    hours = [(c.updated_at - c.created_at).total_seconds() / 3600 for c in claims if c.status == ClaimStatus.POSTED]
    return DepartmentSummary(
        count=len(claims),
        by_status=dict(by_status),
        hkd_by_status=hkd_by_status,
        hkd_posted_by_category=posted_by_category,
        flagged=sum(1 for c in claims if c.risk_reasons),
        needs_review=sum(1 for c in claims if any(e.status == ExpenseStatus.NEEDS_REVIEW for e in c.expenses)),
        median_hours_to_posting=round(statistics.median(hours), 2) if hours else None,
    )
