"""Use case: a claim was submitted; score it, then hand it to the approval state machine.

Any failure on the way ends the claim as `failed` with a reason a person can read, and the claimant is told
(finance is alerted by the failed-claims alarm). Why not retry: the stream would redeliver the record a few
times and then drop it in the dead-letter queue, leaving the claim `submitted` for ever with nobody told; and
the usual causes (a currency finance has no HKD rate for, data the rules cannot value) do not heal on retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalicelib.domain.anomaly import DEAD, Sighting, assess_expense, roll_up
from chalicelib.domain.claim import TERMINAL, Claim, ClaimStatus
from chalicelib.domain.errors import ConcurrentChange, ExecutionAlreadyStarted
from chalicelib.domain.expense import ExpenseRef
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import CurrencyMismatch, NoFxRate
from chalicelib.services.ports import ClaimStore, Directory, ExpenseStore, WorkflowEngine

log = logging.getLogger(__name__)
Tell = Callable[[Claim, str], None]  # ClaimantUpdates.tell


def needs_scoring(old: Claim | None, new: Claim) -> bool:
    """Only the transition into `submitted` starts work; every other stream record is ignored."""
    return new.status == ClaimStatus.SUBMITTED and (old is None or old.status != ClaimStatus.SUBMITTED)


def execution_name(claim: Claim) -> str:
    return f"{claim.claim_id}-s{claim.submission_count}"


def sightings(refs: list[ExpenseRef], claim: Claim, claims: ClaimStore) -> list[Sighting]:
    """The expenses among `refs` held by a live claim (this one included); unattached ones claim nothing yet."""
    out, status = [], {claim.claim_id: claim.status}
    for ref in refs:
        if ref.claim_id is None:
            continue
        if ref.claim_id not in status:
            other = claims.get(ref.claim_id)
            status[ref.claim_id] = other.status if other else ClaimStatus.FAILED
        if status[ref.claim_id] not in DEAD:
            out.append(Sighting(expense_id=ref.expense_id, claim_id=ref.claim_id, employee_id=ref.employee_id))
    return out


def score_and_route(
    claim_id: str, claims: ClaimStore, expenses: ExpenseStore, directory: Directory, workflow: WorkflowEngine,
    tell: Tell,
) -> Claim | None:
    claim = claims.get(claim_id)
    if claim is None or claim.status != ClaimStatus.SUBMITTED:
        return claim  # already scored by an earlier delivery of the same record
    try:
        policy = directory.policy()
        findings = {}
        for expense in claim.expenses:
            same_file = expenses.by_file_hash(expense.evidence_key) if expense.evidence_key else []
            same_content = expenses.by_dedupe_key(expense.dedupe_key) if expense.dedupe_key else []
            findings[expense.expense_id] = assess_expense(expense, claim, policy, sightings(same_file, claim, claims),
                                                          sightings(same_content, claim, claims))
        risk = roll_up(claim, findings)
        per_expense = [e.model_copy(update={"risk_reasons": [f.reason for f in findings[e.expense_id]]})
                       for e in claim.expenses]
        scored = claims.save(
            claim,
            claim.moved_to(ClaimStatus.SCORED, risk_score=risk.score, risk_reasons=risk.reasons,
                           expenses=[e.model_dump() for e in per_expense]),
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
    except Exception as exc:  # noqa: BLE001 (see the module docstring)
        return _fail(claims, claim_id, f"it could not be scored: {_why(exc)}", exc, tell)
    try:
        workflow.start(name, {"claim_id": claim_id})
    except ExecutionAlreadyStarted:
        pass
    except Exception as exc:  # noqa: BLE001
        return _fail(claims, claim_id, f"could not start approval: {_why(exc)}", exc, tell)
    return in_approval


def _why(exc: Exception) -> str:
    """Words for the claimant: the message of the errors people can act on, the error's kind otherwise."""
    if isinstance(exc, (NoFxRate, CurrencyMismatch)):
        return str(exc)
    return f"an unexpected {type(exc).__name__}"


def _fail(claims: ClaimStore, claim_id: str, reason: str, exc: Exception, tell: Tell) -> Claim | None:
    log.error("claim %s failed in scoring: %s", claim_id, type(exc).__name__, exc_info=exc)
    current = claims.get(claim_id)  # a step may have been saved before the failure
    if current is None or current.status in TERMINAL:
        return current
    failed = claims.save(current, current.moved_to(ClaimStatus.FAILED, failure_reason=reason), SYSTEM,
                         action="claim.failed")
    tell(failed, "failed")
    return failed
