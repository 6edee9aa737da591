"""Use cases at the end of the approval flow: post to the books, record a rejection, record a failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chalicelib.domain.advance import settlement_journal_lines
from chalicelib.domain.claim import TERMINAL, Claim, ClaimStatus
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.ledger import journal_for
from chalicelib.services.advances import settle_advance
from chalicelib.services.ports import AdvanceStore, ClaimStore, Directory, Ledger

Tell = Callable[[Claim, str], None]  # ClaimantUpdates.tell: the employee hears how their claim ended


def _silent(claim: Claim, event: str) -> None:
    return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ClaimMissing(Exception):
    pass


def _get(claims: ClaimStore, claim_id: str) -> Claim:
    claim = claims.get(claim_id)
    if claim is None:
        raise ClaimMissing(claim_id)
    return claim


def post_claim(claim_id: str, claims: ClaimStore, directory: Directory, ledger: Ledger,
               tell: Tell = _silent, *, now: Callable[[], datetime] = _utcnow,
               advances: AdvanceStore | None = None) -> str:
    """Idempotent: a retried task finds the claim posted and returns the same journal id. A claim that settles a
    cash advance clears it in the same journal (settling is idempotent too: a retry finds it settled by this
    claim and books the same lines)."""
    claim = _get(claims, claim_id)
    if claim.status == ClaimStatus.POSTED and claim.journal_id:
        return claim.journal_id
    if claim.status == ClaimStatus.IN_APPROVAL:
        claim = claims.save(claim, claim.moved_to(ClaimStatus.APPROVED), SYSTEM, action="claim.approved")
    if claim.status != ClaimStatus.APPROVED:
        raise RuntimeError(f"claim {claim_id} is {claim.status.value}, not approved")
    fx = directory.policy().fx
    advance_lines = None
    if claim.advance_id:
        if advances is None:
            raise RuntimeError(f"claim {claim_id} settles advance {claim.advance_id}: the advance store is needed")
        advance = settle_advance(advances, claim.advance_id, claim.claim_id, claim.payable_hkd(fx), SYSTEM, now())
        advance_lines = settlement_journal_lines(advance.settlement, claim.cost_centre,
                                                 f"Advance {advance.advance_id} settled by claim {claim.claim_id}")
    entry = ledger.post(journal_for(claim, fx, now().date(), advance_lines))
    posted = claims.save(claim, claim.moved_to(ClaimStatus.POSTED, journal_id=entry.journal_id), SYSTEM,
                         action="claim.posted")
    tell(posted, "posted")
    return entry.journal_id


def record_rejection(claim_id: str, claims: ClaimStore, tell: Tell = _silent) -> None:
    claim = _get(claims, claim_id)
    if claim.status == ClaimStatus.REJECTED:
        return
    tell(claims.save(claim, claim.moved_to(ClaimStatus.REJECTED), SYSTEM, action="claim.rejected"), "rejected")


def mark_failed(claim_id: str, error: dict | None, claims: ClaimStore, tell: Tell = _silent) -> None:
    claim = _get(claims, claim_id)
    if claim.status in TERMINAL:
        return
    error = error or {}
    name = error.get("Error", "unknown error")
    if name == "RoutingError":
        reason = f"no approver could be routed: {str(error.get('Cause', ''))[:300]}"
    elif name == "States.Timeout":
        reason = f"step timed out at level {claim.approval_level}"
    else:
        reason = f"{name}: {str(error.get('Cause', ''))[:500]}"
    tell(claims.save(claim, claim.moved_to(ClaimStatus.FAILED, failure_reason=reason), SYSTEM,
                     action="claim.failed"), "failed")
