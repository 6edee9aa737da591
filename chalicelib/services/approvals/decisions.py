"""Deciding an approval step: who may use a link, the signed decision, batches, and checking signatures later.

Link policy (the same for the page, a decision and a batch):
- the link must be genuine, unexpired, still the one its claim waits on, for the content it was sent with;
- a signed-in caller must be the person the link was sent to (the approver or their delegate): anyone else is
  refused, admins included (they reassign; they never decide);
- above the policy's `link_only_max_hkd` (the dual-signature threshold) or at high risk, the link alone is not
  enough: the holder must decide in their own signed-in session (step-up);
- the signer must pass separation of duties at decision time (one person signs one step of a claim), even if
  the link was issued before a delegation or an earlier signature made them ineligible.
The signature, the decision and the audit record all name the person who signed.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from chalicelib.domain import separation
from chalicelib.domain.approval_link import (
    LinkClaims,
    LinkRefused,
    NotLinkHolder,
    SignInRequired,
    StoredLink,
    verify_link,
)
from chalicelib.domain.claim import Claim, ClaimStatus, Decision, InvalidClaim
from chalicelib.domain.errors import ConcurrentChange, LinkAlreadyUsed
from chalicelib.domain.identity import Forbidden, Principal, Role
from chalicelib.services.approvals.context import ApprovalContext, link_token, stop_reminders
from chalicelib.services.approvals.views import summary

REJECTED_ERROR = "ClaimRejected"
VERDICTS = {"approve": "approved", "reject": "rejected", "return": "returned"}


def _reason_given(decision: str, comment: str) -> None:
    """A rejection or a return tells the claimant why: they must know what to fix, or why nothing is paid."""
    if decision in ("reject", "return") and not comment.strip():
        raise ValueError("say why: a rejection or a return needs a comment for the claimant")


class Disallowance(BaseModel):
    """One expense (`expense_id` alone), one of its receipt lines (`expense_id` and `line`), or a line of a
    one-expense claim (`line` alone)."""

    expense_id: str | None = Field(default=None, max_length=40)
    line: int | None = Field(default=None, ge=0)
    reason: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _names_something(self) -> Disallowance:
        if self.expense_id is None and self.line is None:
            raise ValueError("say which expense or line item is disallowed")
        return self


class DecisionRequest(BaseModel):
    decision: str = Field(pattern="^(approve|reject|return)$")
    comment: str = Field(default="", max_length=1000)
    disallow: list[Disallowance] = Field(default_factory=list, max_length=100)  # partial approval
    fix_expenses: list[str] = Field(default_factory=list, max_length=50)  # a return: the expenses to correct

    @model_validator(mode="after")
    def _partial_only_when_approving(self) -> DecisionRequest:
        if self.disallow and self.decision != "approve":
            raise ValueError("expenses or line items can be disallowed only in an approval")
        if len({(d.expense_id, d.line) for d in self.disallow}) != len(self.disallow):
            raise ValueError("each expense or line item can be disallowed once")
        if self.fix_expenses and self.decision != "return":
            raise ValueError("expenses to fix are named only when returning the claim")
        _reason_given(self.decision, self.comment)
        return self


class BatchDecision(BaseModel):
    """批量審批: one answer for several claims waiting on the signed-in approver (no line-by-line cuts here)."""

    claims: list[str] = Field(min_length=1, max_length=50)
    decision: str = Field(pattern="^(approve|reject|return)$")
    comment: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _reason_for_refusals(self) -> BatchDecision:
        _reason_given(self.decision, self.comment)
        return self


def _check_link(ctx: ApprovalContext, link: LinkClaims) -> tuple[StoredLink, Claim]:
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
    return stored, claim


def needs_sign_in(ctx: ApprovalContext, claim: Claim) -> bool:
    """Step-up: large or high-risk claims are decided in a signed-in session, not by a link alone."""
    policy = ctx.directory.policy()
    if (claim.risk_score or 0.0) >= policy.high_risk_score:
        return True
    if not claim.expenses or any(e.total is None for e in claim.expenses):
        return True
    try:
        total = claim.valuation.hkd_total if claim.valuation else claim.hkd_total(policy.fx)
        return total.amount > policy.link_only_max_hkd
    except ValueError:  # no rate to tell how large it is: the safe side
        return True


def _may_use(ctx: ApprovalContext, stored: StoredLink, claim: Claim, caller: Principal | None,
             deciding: bool) -> None:
    if caller is not None and caller.employee_id != stored.approver_id:
        raise NotLinkHolder("this approval link was sent to another approver; only they (or their delegate) "
                            "can use it" + ("; admins reassign steps, they do not decide them"
                                            if caller.has(Role.ADMIN) else ""))
    if deciding and caller is None and needs_sign_in(ctx, claim):
        raise SignInRequired(f"sign in as {stored.approver_id} to decide this claim: above the policy's amount "
                             "or at high risk, the link alone cannot approve it")
    if deciding:
        why = separation.refusal(stored.approver_id, claim, stored.level, stored.route_approvers)
        if why is None and stored.on_behalf_of:  # a delegate needs the standing the step needs, now too
            why = separation.role_refusal(ctx.directory.employee(stored.approver_id), stored.role)
        if why is not None:
            raise Forbidden(f"{why}; ask an admin to reassign this step")


def open_link(ctx: ApprovalContext, token: str, caller: Principal | None = None) -> dict:
    stored, claim = _check_link(ctx, verify_link(token, ctx.link_key, ctx.now()))
    _may_use(ctx, stored, claim, caller, deciding=False)
    return {**summary(claim), "approver_id": stored.approver_id, "on_behalf_of": stored.on_behalf_of,
            "expires_at": stored.expires_epoch, "sign_in_required": needs_sign_in(ctx, claim)}


def _disallowed(claim: Claim, disallow: list[Disallowance], approver_id: str) -> tuple[list, list[str]]:
    """The claim's expenses after a partial approval and the items cut (`Decision.disallowed_items`); the
    expenses unchanged for a full approval. Refused before the link is spent."""
    expenses = {e.expense_id: e for e in claim.expenses}
    items = []
    for d in disallow:
        if d.expense_id is None:
            if len(claim.expenses) != 1:
                raise InvalidClaim("this claim has several expenses: name the expense of the line disallowed")
            expense_id = claim.expenses[0].expense_id
        else:
            expense_id = d.expense_id
        expense = expenses.get(expense_id)
        if expense is None:
            raise InvalidClaim(f"expense {expense_id} is not in this claim")
        if d.line is None:
            if expense.disallowed_reason:
                raise InvalidClaim(f"{expense.label} is already disallowed")
            expenses[expense_id] = expense.model_copy(update={"disallowed_reason": d.reason,
                                                              "disallowed_by": approver_id})
            items.append(expense_id)
            continue
        lines = list(expense.line_items)
        if d.line >= len(lines):
            raise InvalidClaim(f"line {d.line} does not exist: {expense.label} has {len(lines)} line items")
        if lines[d.line].disallowed_reason:
            raise InvalidClaim(f"line {d.line} is already disallowed")
        lines[d.line] = lines[d.line].model_copy(update={"disallowed_reason": d.reason, "disallowed_by": approver_id})
        expenses[expense_id] = expense.model_copy(update={"line_items": lines})
        items.append(f"{expense_id}#{d.line}")
    after = [expenses[e.expense_id] for e in claim.expenses]
    if items and all((e.payable() is None or e.payable().amount <= 0) for e in after):
        raise InvalidClaim("disallowing these leaves nothing to reimburse: reject the claim instead")
    return after, items


def _fix_requested(claim: Claim, expense_ids: list[str], note: str) -> list:
    """A return names the expenses to correct; the claimant sees the request on each of them."""
    known = {e.expense_id for e in claim.expenses}
    unknown = [e for e in expense_ids if e not in known]
    if unknown:
        raise InvalidClaim(f"expense {unknown[0]} is not in this claim")
    return [e.model_copy(update={"fix_requested": note or "please correct this expense"})
            if e.expense_id in expense_ids else e for e in claim.expenses]


def _refused(ctx: ApprovalContext, exc: Exception, genuine: LinkClaims | None, caller: Principal | None,
             source_ip: str, request: DecisionRequest) -> None:
    """Every refused use of a link is a standalone audit event (never a hot chain a flood would contend on)."""
    reason = getattr(exc, "reason", None) or str(exc) or "this approval link has already been used"
    actor = caller or Principal(user_id="anonymous", employee_id="", department_id="", roles=frozenset())
    attempt = {"reason": reason, "decision": request.decision}
    if genuine is not None:  # a genuine link (replayed, stale, someone else's): say which claim it was for
        attempt |= {"claim_id": genuine.claim_id, "link_id": genuine.link_id, "level": genuine.level}
    ctx.audit.event("REFUSED", ctx.now(), actor.model_copy(update={"source_ip": source_ip}), "approval.refused",
                    attempt)


def decide(
    ctx: ApprovalContext, token: str, request: DecisionRequest, caller: Principal | None, source_ip: str
) -> Claim:
    """Record the decision once, signed, and resume (or, for a return, hold) the execution."""
    verdict = VERDICTS[request.decision]
    genuine: LinkClaims | None = None
    try:
        genuine = verify_link(token, ctx.link_key, ctx.now())
        stored, claim = _check_link(ctx, genuine)
        _may_use(ctx, stored, claim, caller, deciding=True)
        expenses, cut = _disallowed(claim, request.disallow, stored.approver_id)
        if request.fix_expenses:
            expenses = _fix_requested(claim, request.fix_expenses, request.comment)
        ctx.links.mark_used(stored, state="returned" if verdict == "returned" else "used")
        stop_reminders(ctx, stored, f"decided: {verdict}")
    except LinkAlreadyUsed as exc:
        _refused(ctx, exc, genuine, caller, source_ip, request)
        raise LinkRefused("this approval link has already been used") from exc
    except (LinkRefused, NotLinkHolder, SignInRequired, Forbidden) as exc:
        _refused(ctx, exc, genuine, caller, source_ip, request)
        raise

    signer = Principal(
        user_id=caller.user_id if caller else f"link:{stored.approver_id}",
        employee_id=stored.approver_id,
        department_id=caller.department_id if caller else claim.department_id,
        roles=frozenset({Role.APPROVER}),
        source_ip=source_ip,
    )
    decision = Decision(
        level=stored.level, approver_id=stored.approver_id, decision=verdict, comment=request.comment,
        decided_at=ctx.now(), on_behalf_of=stored.on_behalf_of, content_hash=stored.content_hash,
        source_ip=source_ip, disallowed_items=cut, fix_expenses=list(request.fix_expenses),
        content=claim.approver_view(),
    )
    key_id, signature = ctx.signer.sign(decision.signed_payload(claim.claim_id))
    decision = decision.model_copy(update={"signing_key_id": key_id, "signature": signature})
    changes: dict = {"awaiting_admin": None}
    if cut or request.fix_expenses:
        changes["expenses"] = [e.model_dump() for e in expenses]
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
                                      signer, action=f"approval.level_{stored.level}.{verdict}")
            break
        except ConcurrentChange:
            claim = ctx.claims.get(claim.claim_id)
            if claim is None or claim.status != ClaimStatus.IN_APPROVAL or claim.approval_level != stored.level:
                raise
    else:
        raise ConcurrentChange(f"claim {claim.claim_id} kept changing while recording a decision")
    if verdict == "returned" and ctx.claimants is not None:
        ctx.claimants.tell(updated, "returned")
    task_token = (ctx.links.get(stored.link_id) or stored).task_token  # the newest, if the wait was re-armed
    if verdict == "approved":
        ctx.workflow.succeed(task_token, {"decision": verdict, "approver_id": stored.approver_id,
                                          "level": stored.level})
    elif verdict == "rejected":
        ctx.workflow.fail(task_token, REJECTED_ERROR, changes["rejection_reason"])
    return updated


def decide_many(ctx: ApprovalContext, approver: Principal, batch: BatchDecision, source_ip: str) -> list[dict]:
    """Each claim is decided on its own link, with its own e-signature and audit record, exactly as if the
    approver had opened each message; one claim that cannot be decided does not stop the others."""
    mine = {link.claim_id: link for link in ctx.links.pending_for(approver.employee_id)}
    request = DecisionRequest(decision=batch.decision, comment=batch.comment)
    results = []
    for claim_id in dict.fromkeys(batch.claims):  # each claim once, in the order given
        link = mine.get(claim_id)
        if link is None:
            results.append({"claim_id": claim_id, "error": "no approval step of yours is waiting on this claim"})
            continue
        try:
            decided = decide(ctx, link_token(ctx, link), request, approver, source_ip)
            results.append({"claim_id": claim_id, "status": decided.status.value,
                            "decision": decided.decisions[-1].decision})
        except (LinkRefused, InvalidClaim, ConcurrentChange, Forbidden) as exc:
            results.append({"claim_id": claim_id, "error": getattr(exc, "reason", None) or str(exc)})
    return results


def verify_signatures(ctx: ApprovalContext, claim: Claim) -> list[dict]:
    """Each decision's signature checked with KMS, and what it signed compared with the claim as it stands:
    a valid signature over other content is reported invalid, naming the fields that differ."""
    out = []
    for i, d in enumerate(claim.decisions):
        signature_valid = bool(d.signature and d.signing_key_id) and ctx.signer.verify(
            d.signed_payload(claim.claim_id), d.signing_key_id, d.signature
        )
        differs = claim.signed_content_differences(i)
        superseded = d.content is not None and d.content.get("submission") != claim.submission_count
        out.append({"level": d.level, "approver_id": d.approver_id, "decision": d.decision,
                    "on_behalf_of": d.on_behalf_of, "decided_at": d.decided_at.isoformat(),
                    "signature_valid": signature_valid, "content_matches": not differs, "differs": differs,
                    "superseded_by_resubmission": superseded, "valid": signature_valid and not differs})
    return out
