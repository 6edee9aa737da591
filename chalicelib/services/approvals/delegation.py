"""An approver going on leave names a delegate: checked now against the policy (a clear refusal), and again
whenever a link is issued or used (one person still signs at most one step of any claim)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from chalicelib.domain import separation
from chalicelib.domain.claim import InvalidClaim
from chalicelib.domain.directory import Delegation
from chalicelib.domain.identity import Principal, Role
from chalicelib.services.approvals.context import ApprovalContext, open_steps


class DelegationRequest(BaseModel):
    delegate_id: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(default="", max_length=200)


def set_delegation(ctx: ApprovalContext, approver: Principal, request: DelegationRequest) -> dict:
    """Store the delegation; the answer lists the claims now waiting on the approver that the delegate may not
    take (they stay with the approver), so nobody is surprised."""
    if not approver.has(Role.APPROVER):
        raise InvalidClaim("only an approver can delegate approvals")
    if request.delegate_id == approver.employee_id:
        raise InvalidClaim("you cannot delegate to yourself")
    delegate = ctx.directory.employee(request.delegate_id)
    why = separation.role_refusal(delegate, "line_manager")
    if why is not None:
        raise InvalidClaim(f"{request.delegate_id} cannot be your delegate: {why}")
    if request.ends_at <= request.starts_at:
        raise InvalidClaim("the delegation must end after it starts")
    if request.ends_at <= ctx.now():
        raise InvalidClaim("the delegation has already ended")
    delegation = Delegation(approver_id=approver.employee_id, **request.model_dump())
    ctx.directory.put_delegation(delegation)
    ctx.audit.append(f"DELEGATION#{approver.employee_id}", approver, "delegation.set", None,
                     delegation.model_dump(mode="json"))
    stays = []
    for link, claim in open_steps(ctx, ctx.links.pending_for(approver.employee_id)):
        reason = (separation.refusal(request.delegate_id, claim, link.level, link.route_approvers)
                  or separation.role_refusal(delegate, link.role))
        if reason:
            stays.append({"claim_id": claim.claim_id, "level": link.level, "reason": reason})
    return {**delegation.model_dump(mode="json"), "not_for": stays}

