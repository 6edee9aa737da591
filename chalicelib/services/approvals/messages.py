"""The messages approvers and the escalation desk receive (EN + 繁中), each with what they need to act."""

from __future__ import annotations

from chalicelib.domain.claim import Claim
from chalicelib.services.approvals.context import ApprovalContext
from chalicelib.services.approvals.views import summary


def ask_approver(ctx: ApprovalContext, claim: Claim, level: int, role: str, holder: str, on_behalf_of: str | None,
                 link: str) -> None:
    person = ctx.directory.employee(holder)
    info = summary(claim)
    amount = claim.amounts_text()
    what = claim.headline
    count = len(claim.expenses)
    items_en = f", {count} expenses" if count > 1 else ""
    items_zh = f"，共 {count} 項開支" if count > 1 else ""
    behalf_en = f" on behalf of {on_behalf_of}" if on_behalf_of else ""
    behalf_zh = f"（代 {on_behalf_of} 審批）" if on_behalf_of else ""
    ctx.notifier.publish(
        subject=f"Approval needed 待審批: {claim.claim_id}",
        message={
            "default": f"Expense claim {claim.claim_id} ({amount}, {what}{items_en}) awaits your approval{behalf_en}.",
            "en": f"Please approve expense claim {claim.claim_id}{behalf_en}: {what}, {amount}{items_en} "
                  f"({', '.join(claim.categories)}).",
            "zh-Hant": f"請審批報銷申請 {claim.claim_id}{behalf_zh}：{what} {amount}{items_zh}"
                       f"（{'、'.join(claim.categories)}）。",
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


def tell_escalation_desk(ctx: ApprovalContext, claim: Claim, level: int, waiting_on: str, reason: str) -> None:
    desk = ctx.directory.policy().escalation_desk_ids
    text = f"Expense claim {claim.claim_id} is stuck: {reason}. Chase the approver or reassign the step."
    ctx.notifier.publish(
        subject=f"Escalation desk 升級處理: {claim.claim_id}",
        message={
            "default": text,
            "en": text,
            "zh-Hant": f"報銷申請 {claim.claim_id} 第 {level} 級逾時未審批，且已無上級可升級。請跟進或改派審批人。",
            "kind": "escalation_desk",
            "claim": summary(claim),
            "level": level,
            "waiting_on": waiting_on,
            "desk": desk,
            "reassign": f"{ctx.base_url}/admin/claims/{claim.claim_id}/reassign",
        },
        attributes={"audience": "escalation-desk", "approver_id": ",".join(desk)},
    )
