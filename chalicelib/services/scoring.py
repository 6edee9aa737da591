"""Use case: a claim was submitted; score it, then hand it to the approval state machine."""

from __future__ import annotations

from chalicelib.adapters.aws import ExecutionAlreadyStarted, Workflow
from chalicelib.adapters.repositories import ClaimRepository, ConcurrentChange, DirectoryRepository
from chalicelib.domain.anomaly import assess
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.identity import SYSTEM


def needs_scoring(old: Claim | None, new: Claim) -> bool:
    """Only the transition into `submitted` starts work; every other stream record is ignored."""
    return new.status == ClaimStatus.SUBMITTED and (old is None or old.status != ClaimStatus.SUBMITTED)


def execution_name(claim: Claim) -> str:
    return f"{claim.claim_id}-s{claim.submission_count}"


def score_and_route(
    claim_id: str, claims: ClaimRepository, directory: DirectoryRepository, workflow: Workflow
) -> Claim | None:
    claim = claims.get(claim_id)
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        return claim  # already scored by an earlier delivery of the same record
    policy = directory.policy()
    same_file = claims.by_file_hash(claim.file_sha256)
    same_content = claims.by_dedupe_key(claim.dedupe_key) if claim.dedupe_key else []
    risk = assess(claim, policy, same_file, same_content)
    try:
        scored = claims.save(
            claim,
            claim.moved_to(ClaimStatus.SCORED, risk_score=risk.score, risk_reasons=risk.reasons),
            SYSTEM,
            action="claim.scored",
        )
        name = execution_name(scored)
        in_approval = claims.save(
            scored,
            scored.moved_to(ClaimStatus.IN_APPROVAL, execution_arn=name),
            SYSTEM,
            action="claim.approval_started",
        )
    except ConcurrentChange:
        return claims.get(claim_id)
    try:
        workflow.start(name, {"claim_id": claim_id})
    except ExecutionAlreadyStarted:
        pass
    except Exception as exc:
        claims.save(
            in_approval,
            in_approval.moved_to(ClaimStatus.FAILED, failure_reason=f"could not start approval: {exc}"),
            SYSTEM,
            action="claim.failed",
        )
        raise
    return in_approval
