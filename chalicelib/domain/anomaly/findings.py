"""What a rule says about an expense (a weight, a rule code, a reason in EN / 繁中) and how the findings roll up to
the claim: every reason is kept, prefixed with the expense it is about, and the claim's score is its worst
expense's pushed up by every further finding."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel

from chalicelib.domain.claim import Claim, ClaimStatus

# Claims in these statuses no longer count as an earlier claim of the same receipt.
DEAD = frozenset({ClaimStatus.REJECTED, ClaimStatus.FAILED})


class RiskAssessment(BaseModel):
    score: float
    reasons: list[str]
    rules: list[str] = []  # the rule code of each reason, in the same order (a model or a queue can group by it)

    @property
    def high(self) -> bool:
        return self.score >= 0.7


@dataclass(frozen=True)
class Sighting:
    """The same receipt seen elsewhere: the expense, the claim holding it, and whose claim that is; the receipt
    number when known (two receipts with different numbers are two meals, however alike)."""

    expense_id: str
    claim_id: str
    employee_id: str
    receipt_no: str | None = None


@dataclass
class Finding:
    weight: float
    reason: str
    rule: str = "other"


def hk(amount: Decimal) -> str:
    """HK$4,800 / HK$4,800.50: whole dollars without cents, as people write them."""
    q = amount.quantize(Decimal("0.01"))
    return f"HK${q:,.0f}" if q == q.to_integral_value() else f"HK${q:,}"


def where(sightings: list[Sighting], claim_id: str, employee_id: str) -> tuple[str, str]:
    """Where else the receipt was seen, in English and 繁中."""
    en, zh = [], []
    for s in sorted(sightings, key=lambda s: (s.claim_id, s.expense_id)):
        if s.claim_id == claim_id:
            en.append("this claim")
            zh.append("本申請")
        elif s.employee_id == employee_id:
            en.append(f"claim {s.claim_id}")
            zh.append(f"申報 {s.claim_id}")
        else:
            en.append(f"claim {s.claim_id} of colleague {s.employee_id}")
            zh.append(f"同事 {s.employee_id} 的申報 {s.claim_id}")
    return ", ".join(dict.fromkeys(en)), "、".join(dict.fromkeys(zh))


def duplicate_code(sightings: list[Sighting], employee_id: str) -> str:
    """`duplicate_own` when the claimant already claimed it (whoever else did too), else `duplicate_colleague`."""
    return "duplicate_own" if any(s.employee_id == employee_id for s in sightings) else "duplicate_colleague"


def roll_up(claim: Claim, findings: dict[str, list[Finding]]) -> RiskAssessment:
    """The claim's risk from its expenses' findings, every reason kept and named by its expense."""
    weights: list[float] = []
    reasons: list[str] = []
    rules: list[str] = []
    several = len(claim.expenses) > 1
    for expense in claim.expenses:
        for finding in findings.get(expense.expense_id, []):
            weights.append(finding.weight)
            rules.append(finding.rule)
            reasons.append(f"{expense.label} ({expense.total}): {finding.reason}" if several else finding.reason)
    if not weights:
        return RiskAssessment(score=0.0, reasons=[])
    score = max(weights) + 0.05 * (len(weights) - 1)
    return RiskAssessment(score=round(min(score, 1.0), 3), reasons=reasons, rules=rules)
