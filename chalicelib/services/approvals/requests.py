"""Asking for a decision: a link per waiting step (to the approver or an eligible delegate), escalation when
nobody answers, reassignment by an admin, and the same step resumed after the claimant's correction."""

from __future__ import annotations

import uuid

from chalicelib.domain import separation
from chalicelib.domain.access import require_admin
from chalicelib.domain.approval_link import LinkRefused, StoredLink
from chalicelib.domain.claim import Claim, ClaimStatus, Decision
from chalicelib.domain.errors import LinkAlreadyUsed
from chalicelib.domain.expense import Expense
from chalicelib.domain.identity import SYSTEM, Forbidden, Principal
from chalicelib.domain.routing import ApprovalStep, Route, RoutingError, escalation_target
from chalicelib.services.approvals import messages
from chalicelib.services.approvals.context import ApprovalContext, link_url, start_reminders, stop_reminders
from chalicelib.services.approvals.decisions import REJECTED_ERROR
from chalicelib.services.claims import submission_changes


def _holder(ctx: ApprovalContext, claim: Claim, level: int, role: str, approver_id: str,
            route_approvers: list[str]) -> tuple[str, str | None]:
    """(who gets the link, on whose behalf): an active delegate only where the policy would accept them at this
    step; otherwise the approver keeps it, and the audit trail says why the delegation was not used."""
    delegation = ctx.directory.delegation(approver_id)
    if delegation is None or not delegation.active(ctx.now()):
        return approver_id, None
    delegate = delegation.delegate_id
    why = (separation.refusal(delegate, claim, level, route_approvers)
           or separation.role_refusal(ctx.directory.employee(delegate), role))
    if why is None:
        return delegate, approver_id
    ctx.audit.append(ctx.claims.entity(claim.claim_id), SYSTEM, "approval.delegation_not_used", None,
                     {"level": level, "approver_id": approver_id, "delegate_id": delegate, "reason": why})
    return approver_id, None


def _issue_link(ctx: ApprovalContext, claim: Claim, level: int, role: str, approver_id: str, task_token: str,
                action: str, route_approvers: list[str]) -> tuple[Claim, str]:
    """Void the step's previous link, store a new one behind the token, notify its holder, start reminders.
    The escalation desk keeps the claim on its list while the same approver is still the one waited on."""
    previous = ctx.links.void(claim.pending_link_id)
    stop_reminders(ctx, previous, "link replaced")
    same_approver = previous is not None and previous.designated == approver_id
    holder, on_behalf_of = _holder(ctx, claim, level, role, approver_id, route_approvers)
    link_id = uuid.uuid4().hex
    updated = ctx.claims.save(
        claim, claim.moved_to(ClaimStatus.IN_APPROVAL, approval_level=level, pending_link_id=link_id,
                              awaiting_admin=claim.awaiting_admin if same_approver else None),
        SYSTEM, action=action,
    )
    link = StoredLink(
        link_id=link_id, claim_id=claim.claim_id, level=level, approver_id=holder, task_token=task_token,
        content_hash=updated.content_hash(), expires_epoch=int(ctx.now().timestamp()) + ctx.link_ttl_seconds,
        role=role, on_behalf_of=on_behalf_of, route_approvers=[p for p in route_approvers if p != approver_id],
    )
    ctx.links.put_pending(link)
    messages.ask_approver(ctx, updated, level, role, holder, on_behalf_of, link_url(ctx, link))
    start_reminders(ctx, link)
    return updated, link_id


def request_approval(ctx: ApprovalContext, claim_id: str, level: int, step: ApprovalStep, task_token: str,
                     route_steps: list[ApprovalStep] | None = None) -> str:
    """The state machine waits on `task_token` until someone decides through the link sent now. `route_steps`
    are the claim's whole route: their approvers may not stand in for this step's."""
    others = [s.approver_id for s in route_steps or [] if s.level != level]
    claim = ctx.claims.get(claim_id)
    current = ctx.links.get(claim.pending_link_id) if claim and claim.pending_link_id else None
    if claim is not None and claim.status == ClaimStatus.RETURNED and current is not None:
        ctx.links.rebind(current, task_token)  # the claimant is correcting it: keep waiting for the resubmission
        return current.link_id
    if claim is None or claim.status != ClaimStatus.IN_APPROVAL:
        raise RuntimeError(f"claim {claim_id} is not awaiting approval")
    last = claim.decisions[-1] if claim.decisions else None
    if (current is None and last is not None and last.level == level == claim.approval_level
            and last.decision in ("approved", "rejected")):
        # decided just as the previous wait timed out: hand the recorded decision to the re-armed task
        return _deliver(ctx, claim, last, level, task_token)
    outlives_wait = current is not None and (
        current.expires_epoch - ctx.now().timestamp() > ctx.directory.policy().approval_timeout_seconds)
    if (current is not None and current.state == "pending" and current.level == level
            and current.designated == step.approver_id
            and current.content_hash == claim.content_hash() and outlives_wait):
        # a retried task, or a step re-armed (SLA paused, escalation desk): the link already sent stays valid;
        # one that would expire during the coming wait is replaced by a fresh one below
        try:
            ctx.links.rebind(current, task_token)
            return current.link_id
        except LinkAlreadyUsed:  # decided this very moment: its decision is delivered to this task below
            claim = ctx.claims.get(claim_id)
            last = claim.decisions[-1] if claim and claim.decisions else None
            if claim is not None and last is not None and last.level == level and claim.pending_link_id is None:
                return _deliver(ctx, claim, last, level, task_token)
            raise
    _, link_id = _issue_link(ctx, claim, level, step.role, step.approver_id, task_token,
                             action=f"approval.level_{level}.requested", route_approvers=others)
    return link_id


def _deliver(ctx: ApprovalContext, claim: Claim, last: Decision, level: int, task_token: str) -> str:
    if last.decision == "approved":
        ctx.workflow.succeed(task_token, {"decision": last.decision, "approver_id": last.approver_id, "level": level})
    else:
        ctx.workflow.fail(task_token, REJECTED_ERROR, claim.rejection_reason or "rejected")
    return "delivered"


def resubmit_after_return(ctx: ApprovalContext, principal: Principal, claim: Claim, changes: dict) -> Claim:
    """The employee corrected a returned claim: the same waiting step gets a fresh link (no new execution)."""
    if claim.status != ClaimStatus.RETURNED or claim.employee_id != principal.employee_id:
        raise Forbidden("only the claimant can resubmit a returned claim")
    returned = ctx.links.get(claim.pending_link_id) if claim.pending_link_id else None
    if returned is None or returned.state != "returned":
        raise RuntimeError(f"claim {claim.claim_id} has no returned approval step to resume")
    changes = submission_changes(claim, ctx.directory.policy(), ctx.now(), changes)
    expenses = [Expense.model_validate(e) for e in changes.get("expenses") or claim.expenses]
    changes["expenses"] = [e.model_copy(update={"fix_requested": None}) for e in expenses]  # the return is answered
    corrected = ctx.claims.save(claim, claim.moved_to(ClaimStatus.RETURNED, **changes), principal,
                                action="claim.corrected_after_return")
    updated, _ = _issue_link(ctx, corrected, returned.level, returned.role, returned.designated, returned.task_token,
                             action=f"approval.level_{returned.level}.resubmitted",
                             route_approvers=returned.route_approvers)
    return updated


def reassign(ctx: ApprovalContext, admin: Principal, claim_id: str, approver_id: str, reason: str) -> Claim:
    """An admin moves a waiting step to another approver; the old link is void, the execution keeps waiting.
    The new approver must be someone the policy would accept at that step, and never the admin themself."""
    require_admin(admin, "reassign an approval")
    claim = ctx.claims.get(claim_id)
    current = ctx.links.get(claim.pending_link_id) if claim and claim.pending_link_id else None
    if claim is None or claim.status != ClaimStatus.IN_APPROVAL or current is None or current.state != "pending":
        raise LinkRefused("this claim has no approval step waiting to be reassigned")
    if approver_id == admin.employee_id:
        raise Forbidden("an admin cannot reassign a step to themself")
    why = (separation.refusal(approver_id, claim, current.level, current.route_approvers)
           or separation.role_refusal(ctx.directory.employee(approver_id), current.role))
    if why is not None:
        raise Forbidden(f"{approver_id} cannot approve this step: {why}")
    ctx.audit.append(ctx.claims.entity(claim_id), admin, "approval.reassigned",
                     {"approver_id": current.approver_id}, {"approver_id": approver_id, "reason": reason})
    updated, _ = _issue_link(ctx, claim, current.level, current.role, approver_id, current.task_token,
                             action=f"approval.level_{current.level}.reassigned",
                             route_approvers=current.route_approvers)
    return updated


def escalate(ctx: ApprovalContext, claim_id: str, idx: int, route: Route) -> Route:
    """Nobody answered in time: the step moves one level up and the execution waits again."""
    claim = ctx.claims.get(claim_id)
    if claim is None:
        raise RuntimeError(f"claim {claim_id} does not exist")
    step = route.steps[idx]
    timeout = ctx.directory.policy().approval_timeout_seconds  # the policy as it is now (finance may change it)
    if claim.status == ClaimStatus.RETURNED:  # the claimant holds it; nobody above is late: remind the claimant
        if ctx.claimants is not None:
            ctx.claimants.tell(claim, "return_reminder")
        return route.model_copy(update={"approval_timeout_seconds": timeout})
    weather = ctx.directory.weather()
    if weather.severe:  # the SLA clock stops during a No. 8 signal or a Black Rainstorm: wait again, same link
        ctx.audit.append(ctx.claims.entity(claim_id), SYSTEM, "approval.sla_paused", None,
                         {"level": idx + 1, "signal": weather.signal, "waits_again_seconds": timeout})
        return route.model_copy(update={"approval_timeout_seconds": timeout})
    others = {s.approver_id for i, s in enumerate(route.steps) if i != idx}
    try:
        target = escalation_target(step.approver_id, claim, separation.other_signers(claim, idx + 1) | others,
                                   ctx.directory.employee)
    except RoutingError as exc:
        return _hold_for_escalation_desk(ctx, claim, idx, route, exc.args[0] if exc.args else str(exc))
    stop_reminders(ctx, ctx.links.void(claim.pending_link_id), "escalated")
    ctx.claims.save(claim, claim.moved_to(ClaimStatus.IN_APPROVAL, escalations=claim.escalations + 1,
                                          pending_link_id=None),
                    SYSTEM, action=f"approval.level_{idx + 1}.escalated")
    steps = list(route.steps)
    steps[idx] = step.model_copy(update={"approver_id": target, "rule": f"escalated from {step.approver_id}"})
    return route.model_copy(update={"steps": steps, "approval_timeout_seconds": timeout})


def _hold_for_escalation_desk(ctx: ApprovalContext, claim: Claim, idx: int, route: Route, why: str) -> Route:
    """Nobody is left above a late approver: the claim must not fail for it. The step keeps waiting on the
    same link (the approver may still answer) and the company's escalation desk is told to chase or reassign;
    it is told again at each further timeout until someone acts."""
    reason = f"level {idx + 1} unanswered and {why}"
    held = ctx.claims.save(claim, claim.moved_to(ClaimStatus.IN_APPROVAL, escalations=claim.escalations + 1,
                                                 awaiting_admin=reason),
                           SYSTEM, action=f"approval.level_{idx + 1}.escalation_desk")
    messages.tell_escalation_desk(ctx, held, idx + 1, route.steps[idx].approver_id, reason)
    return route.model_copy(update={"approval_timeout_seconds": ctx.directory.policy().approval_timeout_seconds})
