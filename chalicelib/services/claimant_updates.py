"""Tell the claimant, in English and 繁中, when their claim needs them or is settled: returned (what to fix),
rejected (why), posted (what will be reimbursed, and any line that will not), failed (why; finance is alerted).

Best effort by design: the claim's status and the audit trail are the record, and the app shows both; a message
that could not be sent is logged as an error rather than undoing a posting or a decision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

from chalicelib.domain.claim import Claim
from chalicelib.services.ports import Directory, Notifier

log = logging.getLogger(__name__)
EVENTS = ("returned", "return_reminder", "rejected", "posted", "failed", "posting_failed")


# event -> (the claim field with the reason, subject, English after "Your claim …", 繁中 after "您的報銷申請 …")
_BECAUSE = {
    "returned": ("return_reason", "Claim returned 申請退回",
                 "was returned for correction: {reason}. Please correct it and resubmit.",
                 "已退回修改：{reason}。請更正後重新提交。"),
    "return_reminder": ("return_reason", "Reminder 提醒: claim awaits your correction 申請待修改",
                        "is still waiting for your correction: {reason}. Approval resumes once you resubmit.",
                        "仍待您修改：{reason}。重新提交後即繼續審批。"),
    "rejected": ("rejection_reason", "Claim rejected 申請被拒", "was rejected: {reason}.", "已被拒絕：{reason}。"),
    "failed": ("failure_reason", "Claim needs attention 申請需跟進",
               "could not be completed: {reason}. Finance has been alerted.",
               "未能完成處理：{reason}。財務部已獲通知。"),
    "posting_failed": ("posting_error", "Claim approved, not yet paid 申請已批准，尚未入賬",
                       "was approved but the accounting system refused it: {reason}. Finance has been alerted "
                       "and will post it again once fixed.",
                       "已批准，但會計系統未能入賬：{reason}。財務部已獲通知，修正後會重新入賬。"),
}


def _posted(claim: Claim) -> tuple[str, str, str]:
    pay = claim.amounts_text(payable=True)
    en, zh = f"was approved; {pay} will be reimbursed.", f"已批准，將報銷 {pay}。"
    cut = [(e.label, e.total, e.disallowed_reason) for e in claim.expenses if e.disallowed_reason]
    cut += [(li.description, li.amount, li.disallowed_reason) for e in claim.expenses if not e.disallowed_reason
            for li in e.line_items if li.disallowed_reason]
    if cut:
        en += " Not reimbursed: " + "; ".join(f"{what} {money.amount} ({why})" for what, money, why in cut) + "."
        zh += "不予報銷：" + "；".join(f"{what} {money.amount}（{why}）" for what, money, why in cut) + "。"
    return "Claim approved 申請已批准", en, zh


def _to_fix(claim: Claim) -> tuple[str, str]:
    named = [e.label for e in claim.expenses if e.fix_requested]
    if not named:
        return "", ""
    return f" Expenses to correct: {', '.join(named)}.", f"需更正的開支：{'、'.join(named)}。"


def compose(claim: Claim, event: str, claim_url: str) -> tuple[str, dict]:
    """Subject and message for one event; only the claim, its vendor and amounts: nothing about other people."""
    if event == "posted":
        subject, en, zh = _posted(claim)
    elif event in _BECAUSE:
        field, subject, en, zh = _BECAUSE[event]
        reason = getattr(claim, field) or ""
        en, zh = en.format(reason=reason), zh.format(reason=reason)
        if event in ("returned", "return_reminder"):
            fix_en, fix_zh = _to_fix(claim)
            en, zh = en + fix_en, zh + fix_zh
    else:
        raise ValueError(f"unknown claim event {event!r}; expected one of {EVENTS}")
    what = f"{claim.claim_id} ({claim.headline}, {claim.amounts_text()})"
    en, zh = f"Your claim {what} {en}", f"您的報銷申請 {what} {zh}"
    return f"{subject}: {claim.claim_id}", {"default": en, "en": en, "zh-Hant": zh, "kind": "claim_update",
                                            "event": event, "claim_id": claim.claim_id,
                                            "status": claim.status.value, "link": claim_url}


@dataclass
class ClaimantUpdates:
    notifier: Notifier
    directory: Directory
    base_url: str

    def tell(self, claim: Claim, event: str) -> None:
        subject, message = compose(claim, event, f"{self.base_url}/claim/{quote(claim.claim_id, safe='')}")
        person = self.directory.employee(claim.employee_id)
        try:
            self.notifier.publish(subject=subject, message=message, attributes={
                "employee_id": claim.employee_id, "event": event,
                "timezone": person.timezone if person else "Asia/Hong_Kong"})
        except Exception:  # noqa: BLE001 (see the module docstring)
            log.error("could not tell the claimant about %s of claim %s", event, claim.claim_id, exc_info=True)
