"""Use cases of the human approval step: ask an approver, show them the claim, take their decision."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from chalicelib.adapters.aws import Notifier, Workflow
from chalicelib.adapters.dynamo_models import ApprovalItem
from chalicelib.adapters.repositories import (
    ApprovalLinkStore,
    AuditLog,
    ClaimRepository,
    DirectoryRepository,
    LinkAlreadyUsed,
)
from chalicelib.domain.approval_link import LinkClaims, LinkRefused, sign_link, verify_link
from chalicelib.domain.claim import Claim, ClaimStatus, Decision
from chalicelib.domain.identity import SYSTEM, Principal, Role
from chalicelib.domain.routing import ApprovalStep

REJECTED_ERROR = "ClaimRejected"


class DecisionRequest(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    comment: str = Field(default="", max_length=1000)


def _summary(claim: Claim) -> dict:
    """What an approver sees; amounts with currency, no personal identifiers beyond the employee id."""
    return {
        "claim_id": claim.claim_id,
        "employee_id": claim.employee_id,
        "department_id": claim.department_id,
        "vendor": claim.vendor,
        "date": claim.receipt_date.isoformat() if claim.receipt_date else None,
        "total": str(claim.total.quantized().amount) if claim.total else None,
        "currency": claim.total.currency if claim.total else None,
        "category": claim.category,
        "purpose": claim.purpose,
        "risk_score": claim.risk_score,
        "risk_reasons": claim.risk_reasons,
        "level": claim.approval_level,
        "status": claim.status.value,
    }


def request_approval(
    claim_id: str,
    level: int,
    step: ApprovalStep,
    task_token: str,
    claims: ClaimRepository,
    directory: DirectoryRepository,
    links: ApprovalLinkStore,
    notifier: Notifier,
    link_key: bytes,
    base_url: str,
    ttl_seconds: int,
) -> str:
    """Store the task token behind a single-use link and notify the approver; returns the link id."""
    claim = claims.get(claim_id)
    if claim is None or claim.status != ClaimStatus.IN_APPROVAL:
        raise RuntimeError(f"claim {claim_id} is not awaiting approval")
    if claim.approval_level != level:
        claim = claims.save(claim, claim.moved_to(ClaimStatus.IN_APPROVAL, approval_level=level), SYSTEM,
                            action=f"claim.awaiting_level_{level}")
    link_id = uuid.uuid4().hex
    expires = int(time.time()) + ttl_seconds
    content_hash = claim.content_hash()
    links.put_pending(
        ApprovalItem(
            link_id=link_id, claim_id=claim_id, level=level, approver_id=step.approver_id,
            task_token=task_token, content_hash=content_hash, state="pending", expires_epoch=expires,
        )
    )
    token = sign_link(
        LinkClaims(link_id=link_id, claim_id=claim_id, approver_id=step.approver_id, level=level,
                   content_hash=content_hash, exp=expires),
        link_key,
    )
    approver = directory.employee(step.approver_id)
    summary = _summary(claim)
    amount = f"{summary['currency']} {summary['total']}"
    message = {
        "default": f"Expense claim {claim_id} ({amount}, {claim.vendor}) awaits your approval.",
        "en": f"Please approve expense claim {claim_id}: {amount} at {claim.vendor} ({claim.category}).",
        "zh-Hant": f"請審批報銷申請 {claim_id}：{claim.vendor} {amount}（{claim.category}）。",
        "risk_reasons": claim.risk_reasons,
        "link": f"{base_url}/approvals/{token}",
        "claim": summary,
        "approver_id": step.approver_id,
        "level": level,
        "role": step.role,
    }
    notifier.publish(
        subject=f"Approval needed 待審批: {claim_id}",
        message=message,
        attributes={"approver_id": step.approver_id, "timezone": approver.timezone if approver else "Asia/Hong_Kong"},
    )
    return link_id


def _check(
    token: str, links: ApprovalLinkStore, claims: ClaimRepository, key: bytes
) -> tuple[LinkClaims, ApprovalItem, Claim]:
    link = verify_link(token, key)
    stored = links.get(link.link_id)
    if stored is None or stored.claim_id != link.claim_id or stored.approver_id != link.approver_id:
        raise LinkRefused("this approval link is not genuine")
    if stored.state != "pending":
        raise LinkRefused("this approval link has already been used")
    claim = claims.get(link.claim_id)
    if claim is None or claim.status != ClaimStatus.IN_APPROVAL or claim.approval_level != link.level:
        raise LinkRefused("this claim is no longer waiting for this approval")
    if claim.content_hash() != link.content_hash or stored.content_hash != link.content_hash:
        raise LinkRefused("the claim changed after this link was sent; use the newest link")
    return link, stored, claim


def open_link(token: str, links: ApprovalLinkStore, claims: ClaimRepository, key: bytes) -> dict:
    link, _, claim = _check(token, links, claims, key)
    return {**_summary(claim), "approver_id": link.approver_id, "expires_at": link.exp}


def decide(
    token: str,
    request: DecisionRequest,
    caller: Principal | None,
    source_ip: str,
    links: ApprovalLinkStore,
    claims: ClaimRepository,
    audit: AuditLog,
    workflow: Workflow,
    key: bytes,
) -> Claim:
    """Record the decision once and resume the execution; every refusal is audited too."""
    try:
        link, stored, claim = _check(token, links, claims, key)
        if caller is not None and caller.employee_id != link.approver_id and not caller.has(Role.ADMIN):
            raise LinkRefused("this approval link belongs to another approver")
        links.mark_used(stored)
    except (LinkRefused, LinkAlreadyUsed) as exc:
        reason = exc.reason if isinstance(exc, LinkRefused) else "this approval link has already been used"
        actor = caller or Principal(user_id="anonymous", employee_id="", department_id="", roles=frozenset(),
                                    source_ip=source_ip)
        audit.append("APPROVAL_LINKS", actor.model_copy(update={"source_ip": source_ip}), "approval.refused",
                     None, {"reason": reason})
        raise LinkRefused(reason) from exc

    approver = Principal(
        user_id=caller.user_id if caller else f"link:{link.approver_id}",
        employee_id=link.approver_id,
        department_id=caller.department_id if caller else claim.department_id,
        roles=frozenset({Role.APPROVER}),
        source_ip=source_ip,
    )
    verdict = "approved" if request.decision == "approve" else "rejected"
    decision = Decision(
        level=link.level, approver_id=link.approver_id, decision=verdict, comment=request.comment,
        decided_at=datetime.now(UTC), content_hash=link.content_hash,
    )
    changes: dict = {"decisions": [*claim.decisions, decision]}
    if verdict == "rejected":
        changes["rejection_reason"] = request.comment or "rejected without a comment"
    updated = claims.save(claim, claim.moved_to(ClaimStatus.IN_APPROVAL, **changes), approver,
                          action=f"approval.level_{link.level}.{verdict}")
    if verdict == "approved":
        workflow.succeed(stored.task_token, {"decision": verdict, "approver_id": link.approver_id,
                                             "level": link.level})
    else:
        workflow.fail(stored.task_token, REJECTED_ERROR, changes["rejection_reason"])
    return updated
