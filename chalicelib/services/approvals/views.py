"""What people read about approvals: the approval page, "waiting for me", the escalation desk, bottlenecks."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from chalicelib.domain.access import reads_every_department, require_admin, require_dashboard
from chalicelib.domain.claim import Claim
from chalicelib.domain.expense import Expense
from chalicelib.domain.identity import Principal
from chalicelib.services.approvals.context import ApprovalContext, link_token, link_url, open_steps
from chalicelib.services.approvals.review import person


def expense_summary(expense: Expense) -> dict:
    """One expense as pages show it: its approver view (what is signed) in display form."""
    seen = expense.view()
    return {
        **{name: seen[name] for name in ("expense_id", "kind", "vendor", "date", "total", "currency", "category",
                                         "description", "cost_centre")},
        "label": expense.label,
        "status": expense.status.value,
        "attendees": expense.attendees,
        "rate": ({"working": expense.applied_rate.working, "source": expense.applied_rate.source}
                 if expense.applied_rate else None),
        "lost_receipt_reason": expense.lost_receipt_reason,
        "has_receipt": bool(expense.s3_key),
        "disallowed_reason": expense.disallowed_reason,
        "fix_requested": expense.fix_requested,
        "risk_reasons": expense.risk_reasons,
        "review_reasons": expense.review_reasons,
        "line_items": [{"line": i, "description": li.description, "amount": str(li.amount.quantized().amount),
                        "disallowed_reason": li.disallowed_reason} for i, li in enumerate(expense.line_items)],
        "payable": str(payable.quantized().amount) if (payable := expense.payable()) else None,
    }


def summary(claim: Claim) -> dict:
    """What an approver sees: every expense of the claim (what they sign), the totals, its risk, level and what
    is payable; amounts with currency, no personal identifiers beyond the employee id. For a one-expense claim
    the expense's fields are also given at the top, as the approval page shows a lone receipt."""
    payable = claim.payable_totals()
    out = {
        "claim_id": claim.claim_id,
        "employee_id": claim.employee_id,
        "department_id": claim.department_id,
        "title": claim.headline,
        "purpose": claim.purpose,
        "period": [d.isoformat() if d else None for d in (claim.period_start, claim.period_end)],
        "cost_centre": claim.cost_centre,
        "totals": {c: str(m.quantized().amount) for c, m in sorted(claim.claimed_totals().items())},
        "amounts": claim.amounts_text(),
        "payable_amounts": claim.amounts_text(payable=True),
        "hkd_total": str(claim.valuation.hkd_total.amount) if claim.valuation else None,
        "risk_score": claim.risk_score,
        "risk_reasons": claim.risk_reasons,
        "level": claim.approval_level,
        "status": claim.status.value,
        "advance_id": claim.advance_id,
        "expenses": [expense_summary(e) for e in claim.expenses],
    }
    if len(claim.expenses) == 1:
        only = out["expenses"][0]
        out.update({k: only[k] for k in ("vendor", "date", "total", "currency", "category", "line_items")})
        out["payable"] = only["payable"]
    elif len(payable) == 1:
        (currency, money), = payable.items()
        out.update(currency=currency, total=out["totals"].get(currency), payable=str(money.quantized().amount))
    return out


def waiting_for(ctx: ApprovalContext, approver: Principal) -> list[dict]:
    """The approver's "waiting for me" list in the app: every open step they hold, oldest first, each with the
    link its message carried (a signed-in approver need not dig the message out), its path relative to the
    stage root (for the inbox page), the claimant and the approver stood in for by name, and since when."""
    now = int(ctx.now().timestamp())
    out = []
    for link, claim in open_steps(ctx, ctx.links.pending_for(approver.employee_id)):
        if link.expires_epoch < now:
            continue
        out.append({**summary(claim), "on_behalf_of": link.on_behalf_of, "link": link_url(ctx, link),
                    "path": f"approvals/{link_token(ctx, link)}",
                    "claimant": person(ctx.directory, claim.employee_id),
                    "for": person(ctx.directory, link.on_behalf_of),
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
        with contextlib.suppress(ValueError):  # a currency without a configured rate is counted, not valued
            row["hkd_waiting"] += claim.payable_hkd(fx).amount
        row["at_escalation_desk"] += bool(claim.awaiting_admin)
    ordered = sorted(rows.values(), key=lambda row: (-row["oldest_hours"], row["approver_id"]))
    return [{**row, "hkd_waiting": str(row["hkd_waiting"].quantize(Decimal("0.01")))} for row in ordered]
