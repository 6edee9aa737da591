"""Rules that make a claim look wrong, each with a reason a person can read (EN / 繁中)."""

from __future__ import annotations

from pydantic import BaseModel

from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.policy import Policy

# Claims in these statuses no longer count as an earlier claim of the same receipt.
_DEAD = frozenset({ClaimStatus.REJECTED, ClaimStatus.FAILED})


class RiskAssessment(BaseModel):
    score: float
    reasons: list[str]

    @property
    def high(self) -> bool:
        return self.score >= 0.7


def assess(
    claim: Claim,
    policy: Policy,
    same_file: list[Claim],
    same_content: list[Claim],
) -> RiskAssessment:
    """Score 0..1 from independent rules; the strongest rule sets the floor, more rules push it up."""
    reasons: list[str] = []
    weights: list[float] = []

    earlier_file = [c for c in same_file if c.claim_id != claim.claim_id and c.status not in _DEAD]
    if earlier_file:
        ids = ", ".join(sorted(c.claim_id for c in earlier_file))
        reasons.append(f"duplicate: same receipt file as claim {ids} / 重複：與申報 {ids} 為同一收據檔案")
        weights.append(0.95)

    earlier_content = [
        c
        for c in same_content
        if c.claim_id != claim.claim_id and c.status not in _DEAD and c not in earlier_file
    ]
    if earlier_content:
        ids = ", ".join(sorted(c.claim_id for c in earlier_content))
        reasons.append(
            f"duplicate: same vendor, date and total as claim {ids} / 重複：商戶、日期及金額與申報 {ids} 相同"
        )
        weights.append(0.9)

    if claim.total is not None:
        hkd = policy.fx.to_hkd(claim.total)
        limit = policy.category_limits_hkd.get(claim.category, policy.category_limits_hkd.get("general"))
        if limit is not None and hkd.amount > limit:
            reasons.append(
                f"over limit: HKD {hkd.amount:,} exceeds the {claim.category} limit of HKD {limit:,} / "
                f"超出限額：港幣 {hkd.amount:,} 超過「{claim.category}」上限港幣 {limit:,}"
            )
            weights.append(0.6)

    if claim.review_reasons:
        weights.append(0.3)
        reasons.append("extraction needed review / 收據識別需人工覆核")

    if not weights:
        return RiskAssessment(score=0.0, reasons=[])
    score = max(weights) + 0.05 * (len(weights) - 1)
    return RiskAssessment(score=round(min(score, 1.0), 3), reasons=reasons)
