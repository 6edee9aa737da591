"""`ScoringHistory` in memory: rows remembered as claims are scored; what tests and the anomaly bench stream
through. (The default in AWS, `chalicelib.services.scoring.ClaimStoreHistory`, reads the claims table.)"""

from __future__ import annotations

from chalicelib.domain.anomaly import History, SpendRecord
from chalicelib.domain.claim import Claim
from chalicelib.domain.policy import Policy


class InMemoryScoringHistory:
    """One company's rows (one instance per company), growing as its claims are scored."""

    def __init__(self, records: list[SpendRecord] | None = None) -> None:
        self.rows = History(records or [])

    def history(self, claim: Claim, policy: Policy) -> History:
        return self.rows

    def remember(self, claim: Claim, records: list[SpendRecord]) -> None:
        self.rows.add_claim(records)
