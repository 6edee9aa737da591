"""Use cases of the human approval steps: ask an approver (or their delegate), show them the claim, take their
decision as an e-signature, escalate when nobody answers, reassign, and resume after a correction.

The Step Functions task token of a waiting step is stored behind a single-use link; whoever holds the newest
pending link for the step can decide it. Escalation, reassignment and resubmission all issue a new link for
the same waiting step (voiding the old one), so the execution continues rather than restarts.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, Field, model_validator
from pynamodb.exceptions import UpdateError

from chalicelib.adapters.aws import DecisionSigner, Notifier, Workflow
from chalicelib.adapters.dynamo_models import ApprovalItem
from chalicelib.adapters.repositories import (
    ApprovalLinkStore,
    AuditLog,
    ClaimRepository,
    ConcurrentChange,
    DirectoryRepository,
    LinkAlreadyUsed,
)
from chalicelib.domain.approval_link import LinkClaims, LinkRefused, sign_link, verify_link
from chalicelib.domain.claim import Claim, ClaimStatus, Decision, InvalidClaim, LineItem
from chalicelib.domain.identity import SYSTEM, Forbidden, Principal, Role
from chalicelib.domain.routing import ApprovalStep, Route, RoutingError, escalation_target
from chalicelib.services.claimant_updates import ClaimantUpdates

log = logging.getLogger(__name__)
REJECTED_ERROR = "ClaimRejected"
VERDICTS = {"approve": "approved", "reject": "rejected", "return": "returned"}


class Disallowance(BaseModel):
    line: int = Field(ge=0)
    reason: str = Field(min_length=1, max_length=300)


class DecisionRequest(BaseModel):
    decision: str = Field(pattern="^(approve|reject|return)$")
    comment: str = Field(default="", max_length=1000)
    disallow: list[Disallowance] = Field(default_factory=list, max_length=100)  # partial approval

    @model_validator(mode="after")
    def _partial_only_when_approving(self) -> DecisionRequest:
        if self.disallow and self.decision != "approve":
            raise ValueError("line items can be disallowed only in an approval")
        if len({d.line for d in self.disallow}) != len(self.disallow):
            raise ValueError("each line item can be disallowed once")
        return self


@dataclass
class ApprovalContext:
    """The adapters every approval use case needs, passed as one."""

    claims: ClaimRepository
    directory: DirectoryRepository
    links: ApprovalLinkStore
    notifier: Notifier
    workflow: Workflow
    audit: AuditLog
    signer: DecisionSigner
    reminders: Workflow
    link_key: bytes
    base_url: str
    link_ttl_seconds: int
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    claimants: ClaimantUpdates | None = None  # tells the employee a claim came back to them


def summary(claim: Claim) -> dict:
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
        "line_items": [{"line": i, "description": li.description, "amount": str(li.amount.quantized().amount),
                        "disallowed_reason": li.disallowed_reason} for i, li in enumerate(claim.line_items)],
        "payable": str(payable.quantized().amount) if (payable := claim.payable()) else None,
    }


def _disallowed(claim: Claim, disallow: list[Disallowance], approver_id: str) -> list[LineItem] | None:
    """The claim's lines after a partial approval, or None for a full one; refused before the link is spent."""
    if not disallow:
        return None
    lines = list(claim.line_items)
    for d in disallow:
        if d.line >= len(lines):
            raise InvalidClaim(f"line {d.line} does not exist: the claim has {len(lines)} line items")
        if lines[d.line].disallowed_reason:
            raise InvalidClaim(f"line {d.line} is already disallowed")
        lines[d.line] = lines[d.line].model_copy(update={"disallowed_reason": d.reason, "disallowed_by": approver_id})
    remaining = claim.model_copy(update={"line_items": lines}).payable()
    if remaining is None or remaining.amount <= 0:
        raise InvalidClaim("disallowing these lines leaves nothing to reimburse: reject the claim instead")
    return lines


def _issue_link(
    ctx: ApprovalContext, claim: Claim, level: int, role: str, approver_id: str, task_token: str, action: str
) -> tuple[Claim, str]:
    """Void the step's previous link, store a new one behind the token, notify its holder, start reminders.
    The escalation desk keeps the claim on its list while the same approver is still the one waited on."""
    previous = ctx.links.void(claim.pending_link_id)
    stop_reminders(ctx, previous, "link replaced")
    same_approver = previous is not None and (previous.on_behalf_of or previous.approver_id) == approver_id
    holder, on_behalf_of = approver_id, None
    delegation = ctx.directory.delegation(approver_id)
    if delegation is not None and delegation.active(ctx.now()) and delegation.delegate_id != claim.employee_id:
        holder, on_behalf_of = delegation.delegate_id, approver_id
    link_id = uuid.uuid4().hex
    expires = int(time.time()) + ctx.link_ttl_seconds
    status = ClaimStatus.IN_APPROVAL
    updated = ctx.claims.save(
        claim, claim.moved_to(status, approval_level=level, pending_link_id=link_id,
                              awaiting_admin=claim.awaiting_admin if same_approver else None),
        SYSTEM, action=action,
    )
    content_hash = updated.content_hash()
    item = ApprovalItem(
        link_id=link_id, claim_id=claim.claim_id, level=level, approver_id=holder, task_token=task_token,
        content_hash=content_hash, state="pending", expires_epoch=expires, role=role, on_behalf_of=on_behalf_of,
    )
    ctx.links.put_pending(item)
    _notify(ctx, updated, level, role, holder, on_behalf_of, _link_url(ctx, item))
    start_reminders(ctx, item)
    return updated, link_id


def _link_token(ctx: ApprovalContext, item: ApprovalItem) -> str:
    """The signed token of a stored step; signing is deterministic, so it is the one the message carried."""
    return sign_link(
        LinkClaims(link_id=item.link_id, claim_id=item.claim_id, approver_id=item.approver_id, level=int(item.level),
                   content_hash=item.content_hash, exp=int(item.expires_epoch), on_behalf_of=item.on_behalf_of),
        ctx.link_key,
    )


def _link_url(ctx: ApprovalContext, item: ApprovalItem) -> str:
    return f"{ctx.base_url}/approvals/{_link_token(ctx, item)}"


def _open_steps(ctx: ApprovalContext, links: list[ApprovalItem]) -> list[tuple[ApprovalItem, Claim]]:
    """The links among `links` that their claim is still waiting on (not superseded, not decided), with it."""
    out = []
    for link in links:
        claim = ctx.claims.get(link.claim_id)
        if claim is not None and claim.status == ClaimStatus.IN_APPROVAL and claim.pending_link_id == link.link_id:
            out.append((link, claim))
    return out


def waiting_for(ctx: ApprovalContext, approver: Principal) -> list[dict]:
    """The approver's "waiting for me" list in the app: every open step they hold, oldest first, each with the
    link its message carried (a signed-in approver need not dig the message out)."""
    now = int(ctx.now().timestamp())
    out = []
    for item, claim in _open_steps(ctx, ctx.links.pending_for(approver.employee_id)):
        if int(item.expires_epoch) < now:
            continue
        out.append({**summary(claim), "on_behalf_of": item.on_behalf_of, "link": _link_url(ctx, item),
                    "waiting_since": claim.updated_at.isoformat()})
    return sorted(out, key=lambda row: row["waiting_since"])


def start_reminders(ctx: ApprovalContext, item: ApprovalItem, delay_seconds: int = 0, attempt: int = 0) -> None:
    """The SMS -> voice ladder for one link runs as its own execution (Wait states carry the timing)."""
    name = f"remind-{item.link_id}" + (f"-r{attempt}" if attempt else "")
    ctx.reminders.start(name, {"link_id": item.link_id, "delay_seconds": delay_seconds})
    ctx.links.set_reminder_execution(item, name)


def stop_reminders(ctx: ApprovalContext, item: ApprovalItem | None, cause: str) -> None:
    """Best effort by design: a ladder that could not be stopped ends itself, because every reminder first
    checks that its link is still pending. A decision must never fail because a reminder was not stopped."""
    if item is None or not item.reminder_execution:
        return
    try:
        ctx.reminders.stop(item.reminder_execution, cause)
    except Exception:  # noqa: BLE001 (logged; see the docstring)
        log.warning("could not stop reminders %s; they will stop at their next step", item.reminder_execution,
                    exc_info=True)


def _notify(
    ctx: ApprovalContext, claim: Claim, level: int, role: str, holder: str, on_behalf_of: str | None, link: str
) -> None:
    person = ctx.directory.employee(holder)
    info = summary(claim)
    amount = f"{info['currency']} {info['total']}"
    behalf_en = f" on behalf of {on_behalf_of}" if on_behalf_of else ""
    behalf_zh = f"（代 {on_behalf_of} 審批）" if on_behalf_of else ""
    ctx.notifier.publish(
        subject=f"Approval needed 待審批: {claim.claim_id}",
        message={
            "default": f"Expense claim {claim.claim_id} ({amount}, {claim.vendor}) awaits your approval{behalf_en}.",
            "en": f"Please approve expense claim {claim.claim_id}{behalf_en}: {amount} at {claim.vendor} "
                  f"({claim.category}).",
            "zh-Hant": f"請審批報銷申請 {claim.claim_id}{behalf_zh}：{claim.vendor} {amount}（{claim.category}）。",
            "risk_reasons": claim.risk_reasons,
            "link": link,
            "claim": info,
            "approver_id": holder,
            "on_behalf_of": on_behalf_of,
            "level": level,
            "role": role,
            "kind": "approval",
        },
        attributes={"approver_id": holder, "timezone": person.timezone if person else "Asia/Hong_Kong"},
    )


def request_approval(ctx: ApprovalContext, claim_id: str, level: int, step: ApprovalStep, task_token: str) -> str:
    """The state machine waits on `task_token` until someone decides through the link sent now."""
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
        int(current.expires_epoch) - ctx.now().timestamp() > ctx.directory.policy().approval_timeout_seconds)
    if (current is not None and current.state == "pending" and int(current.level) == level
            and (current.on_behalf_of or current.approver_id) == step.approver_id
            and current.content_hash == claim.content_hash() and outlives_wait):
        # a retried task, or a step re-armed (SLA paused, escalation desk): the link already sent stays valid;
        # one that would expire during the coming wait is replaced by a fresh one below
        try:
            ctx.links.rebind(current, task_token)
            return current.link_id
        except UpdateError:  # decided this very moment: its decision is delivered to this task below
            claim = ctx.claims.get(claim_id)
            current = None
            last = claim.decisions[-1] if claim and claim.decisions else None
            if claim is not None and last is not None and last.level == level and claim.pending_link_id is None:
                return _deliver(ctx, claim, last, level, task_token)
            raise
    _, link_id = _issue_link(ctx, claim, level, step.role, step.approver_id, task_token,
                             action=f"approval.level_{level}.requested")
    return link_id


def _deliver(ctx: ApprovalContext, claim: Claim, last: Decision, level: int, task_token: str) -> str:
    if last.decision == "approved":
        ctx.workflow.succeed(task_token, {"decision": last.decision, "approver_id": last.approver_id, "level": level})
    else:
        ctx.workflow.fail(task_token, REJECTED_ERROR, claim.rejection_reason or "rejected")
    return "delivered"


def _check(ctx: ApprovalContext, token: str) -> tuple[LinkClaims, ApprovalItem, Claim]:
    return _check_link(ctx, verify_link(token, ctx.link_key, ctx.now()))


def _check_link(ctx: ApprovalContext, link: LinkClaims) -> tuple[LinkClaims, ApprovalItem, Claim]:
    """A genuine, unexpired link: is it still the one its claim waits on, for the content it was sent with?"""
    stored = ctx.links.get(link.link_id)
    if stored is None or stored.claim_id != link.claim_id or stored.approver_id != link.approver_id:
        raise LinkRefused("this approval link is not genuine")
    if stored.state == "void":
        raise LinkRefused("this approval link was replaced (escalated or reassigned); use the newest link")
    if stored.state != "pending":
        raise LinkRefused("this approval link has already been used")
    claim = ctx.claims.get(link.claim_id)
    if claim is None or claim.status != ClaimStatus.IN_APPROVAL or claim.approval_level != link.level:
        raise LinkRefused("this claim is no longer waiting for this approval")
    if claim.content_hash() != link.content_hash or stored.content_hash != link.content_hash:
        raise LinkRefused("the claim changed after this link was sent; use the newest link")
    return link, stored, claim


def open_link(ctx: ApprovalContext, token: str) -> dict:
    link, _, claim = _check(ctx, token)
    return {**summary(claim), "approver_id": link.approver_id, "on_behalf_of": link.on_behalf_of,
            "expires_at": link.exp}


def decide(
    ctx: ApprovalContext, token: str, request: DecisionRequest, caller: Principal | None, source_ip: str
) -> Claim:
    """Record the decision once, signed, and resume (or, for a return, hold) the execution."""
    verdict = VERDICTS[request.decision]
    genuine: LinkClaims | None = None
    try:
        genuine = verify_link(token, ctx.link_key, ctx.now())
        link, stored, claim = _check_link(ctx, genuine)
        if caller is not None and caller.employee_id != link.approver_id and not caller.has(Role.ADMIN):
            raise LinkRefused("this approval link belongs to another approver")
        partial = _disallowed(claim, request.disallow, link.approver_id)
        ctx.links.mark_used(stored, state="returned" if verdict == "returned" else "used")
        stop_reminders(ctx, stored, f"decided: {verdict}")
    except (LinkRefused, LinkAlreadyUsed) as exc:
        reason = exc.reason if isinstance(exc, LinkRefused) else "this approval link has already been used"
        actor = caller or Principal(user_id="anonymous", employee_id="", department_id="", roles=frozenset())
        attempt = {"reason": reason, "decision": request.decision}
        if genuine is not None:  # a genuine link (replayed, stale): say which claim it was for
            attempt |= {"claim_id": genuine.claim_id, "link_id": genuine.link_id, "level": genuine.level}
        ctx.audit.event("REFUSED", ctx.now(), actor.model_copy(update={"source_ip": source_ip}),
                        "approval.refused", attempt)
        raise LinkRefused(reason) from exc

    approver = Principal(
        user_id=caller.user_id if caller else f"link:{link.approver_id}",
        employee_id=link.approver_id,
        department_id=caller.department_id if caller else claim.department_id,
        roles=frozenset({Role.APPROVER}),
        source_ip=source_ip,
    )
    decision = Decision(
        level=link.level, approver_id=link.approver_id, decision=verdict, comment=request.comment,
        decided_at=ctx.now(), on_behalf_of=link.on_behalf_of, content_hash=link.content_hash, source_ip=source_ip,
        disallowed_lines=[d.line for d in request.disallow],
    )
    key_id, signature = ctx.signer.sign(decision.signed_payload(claim.claim_id))
    decision = decision.model_copy(update={"signing_key_id": key_id, "signature": signature})
    changes: dict = {"awaiting_admin": None}
    if partial is not None:
        changes["line_items"] = partial
    if verdict == "rejected":
        changes["rejection_reason"] = request.comment or "rejected without a comment"
    target = ClaimStatus.IN_APPROVAL
    if verdict == "returned":
        changes["return_reason"] = request.comment or "returned for correction"
        target = ClaimStatus.RETURNED
    else:
        changes["pending_link_id"] = None
    # The link is already spent for this decision, so it must land: a system step (a reminder's audit record,
    # a re-armed wait) may have written the claim meanwhile; re-read and apply it again.
    for _ in range(5):
        try:
            updated = ctx.claims.save(claim, claim.moved_to(target, decisions=[*claim.decisions, decision],
                                                            **changes),
                                      approver, action=f"approval.level_{link.level}.{verdict}")
            break
        except ConcurrentChange:
            claim = ctx.claims.get(claim.claim_id)
            if claim is None or claim.status != ClaimStatus.IN_APPROVAL or claim.approval_level != link.level:
                raise
    else:
        raise ConcurrentChange(f"claim {claim.claim_id} kept changing while recording a decision")
    if verdict == "returned" and ctx.claimants is not None:
        ctx.claimants.tell(updated, "returned")
    token = (ctx.links.get(stored.link_id) or stored).task_token  # the newest, if the wait was re-armed
    if verdict == "approved":
        ctx.workflow.succeed(token, {"decision": verdict, "approver_id": link.approver_id, "level": link.level})
    elif verdict == "rejected":
        ctx.workflow.fail(token, REJECTED_ERROR, changes["rejection_reason"])
    return updated


class BatchDecision(BaseModel):
    """批量審批: one answer for several claims waiting on the signed-in approver (no line-by-line cuts here)."""

    claims: list[str] = Field(min_length=1, max_length=50)
    decision: str = Field(pattern="^(approve|reject|return)$")
    comment: str = Field(default="", max_length=1000)


def decide_many(ctx: ApprovalContext, approver: Principal, batch: BatchDecision, source_ip: str) -> list[dict]:
    """Each claim is decided on its own link, with its own e-signature and audit record, exactly as if the
    approver had opened each message; one claim that cannot be decided does not stop the others."""
    mine = {item.claim_id: item for item in ctx.links.pending_for(approver.employee_id)}
    request = DecisionRequest(decision=batch.decision, comment=batch.comment)
    results = []
    for claim_id in dict.fromkeys(batch.claims):  # each claim once, in the order given
        item = mine.get(claim_id)
        if item is None:
            results.append({"claim_id": claim_id, "error": "no approval step of yours is waiting on this claim"})
            continue
        try:
            decided = decide(ctx, _link_token(ctx, item), request, approver, source_ip)
            results.append({"claim_id": claim_id, "status": decided.status.value,
                            "decision": decided.decisions[-1].decision})
        except (LinkRefused, InvalidClaim, ConcurrentChange) as exc:
            results.append({"claim_id": claim_id, "error": getattr(exc, "reason", None) or str(exc)})
    return results


def resubmit_after_return(ctx: ApprovalContext, principal: Principal, claim: Claim, changes: dict) -> Claim:
    """The employee corrected a returned claim: the same waiting step gets a fresh link (no new execution)."""
    if claim.status != ClaimStatus.RETURNED or claim.employee_id != principal.employee_id:
        raise Forbidden("only the claimant can resubmit a returned claim")
    returned = ctx.links.get(claim.pending_link_id) if claim.pending_link_id else None
    if returned is None or returned.state != "returned":
        raise RuntimeError(f"claim {claim.claim_id} has no returned approval step to resume")
    candidate = claim.model_copy(update=changes)
    candidate.validate_for_submission()
    corrected = ctx.claims.save(
        claim, claim.moved_to(ClaimStatus.RETURNED, **changes, submission_count=claim.submission_count + 1),
        principal, action="claim.corrected_after_return",
    )
    approver = returned.on_behalf_of or returned.approver_id
    updated, _ = _issue_link(ctx, corrected, int(returned.level), returned.role, approver, returned.task_token,
                             action=f"approval.level_{int(returned.level)}.resubmitted")
    return updated


def reassign(ctx: ApprovalContext, admin: Principal, claim_id: str, approver_id: str, reason: str) -> Claim:
    """An admin moves a waiting step to another approver; the old link is void, the execution keeps waiting."""
    if not admin.has(Role.ADMIN):
        raise Forbidden("only an admin can reassign an approval")
    claim = ctx.claims.get(claim_id)
    current = ctx.links.get(claim.pending_link_id) if claim and claim.pending_link_id else None
    if claim is None or claim.status != ClaimStatus.IN_APPROVAL or current is None or current.state != "pending":
        raise LinkRefused("this claim has no approval step waiting to be reassigned")
    if approver_id == claim.employee_id or approver_id in claim.subjects or ctx.directory.employee(approver_id) is None:
        raise Forbidden(f"{approver_id} cannot approve this claim")
    ctx.audit.append(ctx.claims.entity(claim_id), admin, "approval.reassigned",
                     {"approver_id": current.approver_id}, {"approver_id": approver_id, "reason": reason})
    updated, _ = _issue_link(ctx, claim, int(current.level), current.role, approver_id, current.task_token,
                             action=f"approval.level_{int(current.level)}.reassigned")
    return updated


def escalate(ctx: ApprovalContext, claim_id: str, idx: int, route: Route) -> Route:
    """Nobody answered in time: the step moves one level up and the execution waits again."""
    claim = ctx.claims.get(claim_id)
    if claim is None:
        raise RuntimeError(f"claim {claim_id} does not exist")
    step = route.steps[idx]
    if claim.status == ClaimStatus.RETURNED:  # the claimant holds it; nobody above is late: remind the claimant
        if ctx.claimants is not None:
            ctx.claimants.tell(claim, "return_reminder")
        return route.model_copy(update={"approval_timeout_seconds": ctx.directory.policy().approval_timeout_seconds})
    weather = ctx.directory.weather()
    if weather.severe:  # the SLA clock stops during a No. 8 signal or a Black Rainstorm: wait again, same link
        timeout = ctx.directory.policy().approval_timeout_seconds
        ctx.audit.append(ctx.claims.entity(claim_id), SYSTEM, "approval.sla_paused", None,
                         {"level": idx + 1, "signal": weather.signal, "waits_again_seconds": timeout})
        return route.model_copy(update={"approval_timeout_seconds": timeout})
    signers = {d.approver_id for d in claim.decisions if d.decision == "approved"}
    try:
        target = escalation_target(step.approver_id, claim, signers, ctx.directory.employee)
    except RoutingError as exc:
        return _hold_for_escalation_desk(ctx, claim, idx, route, exc.args[0] if exc.args else str(exc))
    stop_reminders(ctx, ctx.links.void(claim.pending_link_id), "escalated")
    ctx.claims.save(claim, claim.moved_to(ClaimStatus.IN_APPROVAL, escalations=claim.escalations + 1,
                                          pending_link_id=None),
                    SYSTEM, action=f"approval.level_{idx + 1}.escalated")
    steps = list(route.steps)
    steps[idx] = step.model_copy(update={"approver_id": target, "rule": f"escalated from {step.approver_id}"})
    # the next wait follows the policy as it is now (finance may have changed the SLA meanwhile)
    timeout = ctx.directory.policy().approval_timeout_seconds
    return route.model_copy(update={"steps": steps, "approval_timeout_seconds": timeout})


def _hold_for_escalation_desk(ctx: ApprovalContext, claim: Claim, idx: int, route: Route, why: str) -> Route:
    """Nobody is left above a late approver: the claim must not fail for it. The step keeps waiting on the
    same link (the approver may still answer) and the company's escalation desk is told to chase or reassign;
    it is told again at each further timeout until someone acts."""
    policy = ctx.directory.policy()
    reason = f"level {idx + 1} unanswered and {why}"
    held = ctx.claims.save(claim, claim.moved_to(ClaimStatus.IN_APPROVAL, escalations=claim.escalations + 1,
                                                 awaiting_admin=reason),
                           SYSTEM, action=f"approval.level_{idx + 1}.escalation_desk")
    info = summary(held)
    ctx.notifier.publish(
        subject=f"Escalation desk 升級處理: {claim.claim_id}",
        message={
            "default": f"Expense claim {claim.claim_id} is stuck: {reason}. Chase the approver or reassign the step.",
            "en": f"Expense claim {claim.claim_id} is stuck: {reason}. Chase the approver or reassign the step.",
            "zh-Hant": f"報銷申請 {claim.claim_id} 第 {idx + 1} 級逾時未審批，且已無上級可升級。請跟進或改派審批人。",
            "kind": "escalation_desk",
            "claim": info,
            "level": idx + 1,
            "waiting_on": route.steps[idx].approver_id,
            "desk": policy.escalation_desk_ids,
            "reassign": f"{ctx.base_url}/admin/claims/{claim.claim_id}/reassign",
        },
        attributes={"audience": "escalation-desk", "approver_id": ",".join(policy.escalation_desk_ids)},
    )
    return route.model_copy(update={"approval_timeout_seconds": policy.approval_timeout_seconds})


def escalation_queue(ctx: ApprovalContext, admin: Principal) -> list[dict]:
    """What the escalation desk has to act on: claims whose late approver has nobody above."""
    if not admin.has(Role.ADMIN):
        raise Forbidden("only an admin reads the escalation desk")
    out = []
    for link, claim in _open_steps(ctx, ctx.links.pending()):
        if claim.awaiting_admin:
            out.append({**summary(claim), "waiting_on": link.on_behalf_of or link.approver_id,
                        "reason": claim.awaiting_admin, "escalations": claim.escalations,
                        "since": claim.updated_at.isoformat()})
    return sorted(out, key=lambda row: row["since"])


def bottlenecks(ctx: ApprovalContext, viewer: Principal) -> list[dict]:
    """Who is sitting on claims: per approver (or delegate) holding open steps, how many, the oldest wait in
    hours and the HKD value waiting, longest wait first. Finance sees its own department's claims; auditors
    and admins every department's, as with the claims themselves."""
    if not (viewer.has(Role.FINANCE) or viewer.has(Role.ADMIN) or viewer.has(Role.AUDITOR)):
        raise Forbidden("the approvals dashboard is for finance, auditors and admins")
    everyone = viewer.has(Role.ADMIN) or viewer.has(Role.AUDITOR)
    fx, now, rows = ctx.directory.policy().fx, ctx.now(), {}
    for link, claim in _open_steps(ctx, ctx.links.pending()):
        if not everyone and claim.department_id != viewer.department_id:
            continue
        row = rows.setdefault(link.approver_id, {"approver_id": link.approver_id, "waiting": 0, "oldest_hours": 0.0,
                                                 "hkd_waiting": Decimal("0"), "at_escalation_desk": 0})
        row["waiting"] += 1
        row["oldest_hours"] = max(row["oldest_hours"], round((now - claim.updated_at).total_seconds() / 3600, 1))
        payable = claim.payable()
        with contextlib.suppress(ValueError):  # a currency without a configured rate is counted, not valued
            row["hkd_waiting"] += fx.to_hkd(payable).amount if payable else Decimal("0")
        row["at_escalation_desk"] += bool(claim.awaiting_admin)
    ordered = sorted(rows.values(), key=lambda row: (-row["oldest_hours"], row["approver_id"]))
    return [{**row, "hkd_waiting": str(row["hkd_waiting"].quantize(Decimal("0.01")))} for row in ordered]


def verify_signatures(ctx: ApprovalContext, claim: Claim) -> list[dict]:
    """Each decision's signature checked with KMS: what an auditor runs years later."""
    out = []
    for d in claim.decisions:
        valid = bool(d.signature and d.signing_key_id) and ctx.signer.verify(
            d.signed_payload(claim.claim_id), d.signing_key_id, d.signature
        )
        out.append({"level": d.level, "approver_id": d.approver_id, "decision": d.decision,
                    "on_behalf_of": d.on_behalf_of, "decided_at": d.decided_at.isoformat(), "valid": valid})
    return out
