"""Rules that make an expense look wrong, each with a reason a person can read (EN / 繁中), rolled up to the
claim: every reason is kept, prefixed with the expense it is about, and the claim's score is its worst
expense's pushed up by every further finding."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel

from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import Expense, ExpenseKind
from chalicelib.domain.policy import Policy

# Claims in these statuses no longer count as an earlier claim of the same receipt.
DEAD = frozenset({ClaimStatus.REJECTED, ClaimStatus.FAILED})


class RiskAssessment(BaseModel):
    score: float
    reasons: list[str]

    @property
    def high(self) -> bool:
        return self.score >= 0.7


@dataclass(frozen=True)
class Sighting:
    """The same receipt seen elsewhere: the expense, the claim holding it, and whose claim that is."""

    expense_id: str
    claim_id: str
    employee_id: str


@dataclass
class Finding:
    weight: float
    reason: str


def _where(sightings: list[Sighting], claim: Claim) -> tuple[str, str]:
    """Where else the receipt was seen, in English and 繁中."""
    en, zh = [], []
    for s in sorted(sightings, key=lambda s: (s.claim_id, s.expense_id)):
        if s.claim_id == claim.claim_id:
            en.append("this claim")
            zh.append("本申請")
        elif s.employee_id == claim.employee_id:
            en.append(f"claim {s.claim_id}")
            zh.append(f"申報 {s.claim_id}")
        else:
            en.append(f"claim {s.claim_id} of colleague {s.employee_id}")
            zh.append(f"同事 {s.employee_id} 的申報 {s.claim_id}")
    return ", ".join(dict.fromkeys(en)), "、".join(dict.fromkeys(zh))


def assess_expense(expense: Expense, claim: Claim, policy: Policy, same_file: list[Sighting],
                   same_content: list[Sighting]) -> list[Finding]:
    """`same_file` / `same_content`: other expenses in live claims with the same file bytes / the same vendor,
    date and total (this claim's other expenses included)."""
    found: list[Finding] = []
    earlier_file = [s for s in same_file if s.expense_id != expense.expense_id]
    if earlier_file:
        en, zh = _where(earlier_file, claim)
        found.append(Finding(0.95, f"duplicate: same receipt file as in {en} / 重複：與{zh}中的收據為同一檔案"))
    file_ids = {s.expense_id for s in earlier_file}
    earlier_content = [s for s in same_content if s.expense_id != expense.expense_id and s.expense_id not in file_ids]
    if earlier_content:
        en, zh = _where(earlier_content, claim)
        found.append(Finding(0.9, f"duplicate: same vendor, date and total as in {en} / "
                                  f"重複：商戶、日期及金額與{zh}相同"))

    if expense.total is not None:
        hkd = policy.fx.to_hkd(expense.total).amount
        limit = policy.category_limits_hkd.get(expense.category, policy.category_limits_hkd.get("general"))
        heads = expense.attendees or 1
        per_head = (hkd / heads).quantize(Decimal("0.01")) if heads > 1 else hkd
        if limit is not None and per_head > limit:
            each = f" a head ({heads} people)" if heads > 1 else ""
            each_zh = f"（每人，共 {heads} 人）" if heads > 1 else ""
            found.append(Finding(0.6, f"over limit: HKD {per_head:,}{each} exceeds the {expense.category} limit of "
                                      f"HKD {limit:,} / 超出限額：港幣 {per_head:,}{each_zh}超過「{expense.category}」"
                                      f"上限港幣 {limit:,}"))

    if expense.kind == ExpenseKind.LOST_RECEIPT:
        found.append(Finding(0.3, "no receipt: lost-receipt line / 遺失收據，以人手輸入申報"))
    elif expense.review_reasons:
        found.append(Finding(0.3, "extraction needed review / 收據識別需人工覆核"))
    return found


def roll_up(claim: Claim, findings: dict[str, list[Finding]]) -> RiskAssessment:
    """The claim's risk from its expenses' findings, every reason kept and named by its expense."""
    weights: list[float] = []
    reasons: list[str] = []
    several = len(claim.expenses) > 1
    for expense in claim.expenses:
        for finding in findings.get(expense.expense_id, []):
            weights.append(finding.weight)
            reasons.append(f"{expense.label} ({expense.total}): {finding.reason}" if several else finding.reason)
    if not weights:
        return RiskAssessment(score=0.0, reasons=[])
    score = max(weights) + 0.05 * (len(weights) - 1)
    return RiskAssessment(score=round(min(score, 1.0), 3), reasons=reasons)
