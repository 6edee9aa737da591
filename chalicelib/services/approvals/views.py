"""What people read about approvals: the approval page, "waiting for me", the escalation desk, bottlenecks."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from chalicelib.domain.access import reads_every_department, require_admin, require_dashboard
from chalicelib.domain.claim import Claim
from chalicelib.domain.identity import Principal
from chalicelib.services.approvals.context import ApprovalContext, link_url, open_steps


def summary(claim: Claim) -> dict:
    """What an approver sees: the claim's approver view (what they sign) with its risk, level and payable;
    amounts with currency, no personal identifiers beyond the employee id."""
    seen = claim.approver_view()
    return {
        "claim_id": claim.claim_id,
        "employee_id": claim.employee_id,
        "department_id": claim.department_id,
        "vendor": seen["vendor"],
        "date": seen["date"],
        "total": seen["total"],
        "currency": seen["currency"],
        "category": seen["category"],
        "purpose": seen["purpose"],
        "risk_score": claim.risk_score,
        "risk_reasons": claim.risk_reasons,
        "level": claim.approval_level,
        "status": claim.status.value,
        "line_items": [{"line": i, "description": li.description, "amount": str(li.amount.quantized().amount),
                        "disallowed_reason": li.disallowed_reason} for i, li in enumerate(claim.line_items)],
        "payable": str(payable.quantized().amount) if (payable := claim.payable()) else None,
    }


def waiting_for(ctx: ApprovalContext, approver: Principal) -> list[dict]:
    """The approver's "waiting for me" list in the app: every open step they hold, oldest first, each with the
    link its message carried (a signed-in approver need not dig the message out)."""
    now = int(ctx.now().timestamp())
    out = []
    for link, claim in open_steps(ctx, ctx.links.pending_for(approver.employee_id)):
        if link.expires_epoch < now:
            continue
        out.append({**summary(claim), "on_behalf_of": link.on_behalf_of, "link": link_url(ctx, link),
                    "waiting_since": claim.updated_at.isoformat()})
    return sorted(out, key=lambda row: row["waiting_since"])


def escalation_queue(ctx: ApprovalContext, admin: Principal) -> list[dict]:
    """What the escalation desk has to act on: claims whose late approver has nobody above."""
    require_admin(admin, "read the escalation desk")
    out = []
    for link, claim in open_steps(ctx, ctx.links.pending()):
        if claim.awaiting_admin:
            out.append({**summary(claim), "waiting_on": link.designated, "reason": claim.awaiting_admin,
                        "escalations": claim.escalations, "since": claim.updated_at.isoformat()})
    return sorted(out, key=lambda row: row["since"])


def bottlenecks(ctx: ApprovalContext, viewer: Principal) -> list[dict]:
    """Who is sitting on claims: per approver (or delegate) holding open steps, how many, the oldest wait in
    hours and the HKD value waiting, longest wait first. Finance sees its own department's claims; auditors
    and admins every department's, as with the claims themselves."""
    require_dashboard(viewer, "the approvals dashboard")
    everyone = reads_every_department(viewer)
    fx, now, rows = ctx.directory.policy().fx, ctx.now(), {}
    for link, claim in open_steps(ctx, ctx.links.pending()):
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
