"""Tell the claimant, in English and 繁中, when their claim needs them or is settled: returned (what to fix),
rejected (why), posted (what will be reimbursed, and any line that will not), failed (why; finance is alerted).

Best effort by design: the claim's status and the audit trail are the record, and the app shows both; a message
that could not be sent is logged as an error rather than undoing a posting or a decision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.adapters.aws import Notifier
from chalicelib.adapters.repositories import DirectoryRepository
from chalicelib.domain.claim import Claim

log = logging.getLogger(__name__)
EVENTS = ("returned", "rejected", "posted", "failed")


def _amount(claim: Claim) -> str:
    return f"{claim.total.currency} {claim.total.quantized().amount}" if claim.total else "no amount"


def compose(claim: Claim, event: str, claim_url: str) -> tuple[str, dict]:
    """Subject and message for one event; only the claim, its vendor and amounts: nothing about other people."""
    what = f"{claim.claim_id} ({claim.vendor or 'receipt'}, {_amount(claim)})"
    if event == "returned":
        reason = claim.return_reason or ""
        en = f"Your claim {what} was returned for correction: {reason}. Please correct it and resubmit."
        zh = f"您的報銷申請 {what} 已退回修改：{reason}。請更正後重新提交。"
        subject = f"Claim returned 申請退回: {claim.claim_id}"
    elif event == "rejected":
        reason = claim.rejection_reason or ""
        en = f"Your claim {what} was rejected: {reason}."
        zh = f"您的報銷申請 {what} 已被拒絕：{reason}。"
        subject = f"Claim rejected 申請被拒: {claim.claim_id}"
    elif event == "posted":
        payable = claim.payable()
        pay = f"{payable.currency} {payable.quantized().amount}" if payable else _amount(claim)
        cut = [li for li in claim.line_items if li.disallowed_reason]
        en = f"Your claim {what} was approved; {pay} will be reimbursed."
        zh = f"您的報銷申請 {what} 已批准，將報銷 {pay}。"
        if cut:
            en += " Not reimbursed: " + "; ".join(
                f"{li.description} {li.amount.amount} ({li.disallowed_reason})" for li in cut) + "."
            zh += "不予報銷：" + "；".join(
                f"{li.description} {li.amount.amount}（{li.disallowed_reason}）" for li in cut) + "。"
        subject = f"Claim approved 申請已批准: {claim.claim_id}"
    elif event == "failed":
        reason = claim.failure_reason or ""
        en = f"Your claim {what} could not be completed: {reason}. Finance has been alerted."
        zh = f"您的報銷申請 {what} 未能完成處理：{reason}。財務部已獲通知。"
        subject = f"Claim needs attention 申請需跟進: {claim.claim_id}"
    else:
        raise ValueError(f"unknown claim event {event!r}; expected one of {EVENTS}")
    return subject, {"default": en, "en": en, "zh-Hant": zh, "kind": "claim_update", "event": event,
                     "claim_id": claim.claim_id, "status": claim.status.value, "link": claim_url}


@dataclass
class ClaimantUpdates:
    notifier: Notifier
    directory: DirectoryRepository
    base_url: str

    def tell(self, claim: Claim, event: str) -> None:
        subject, message = compose(claim, event, f"{self.base_url}/#claim={claim.claim_id}")
        person = self.directory.employee(claim.employee_id)
        try:
            self.notifier.publish(subject=subject, message=message, attributes={
                "employee_id": claim.employee_id, "event": event,
                "timezone": person.timezone if person else "Asia/Hong_Kong"})
        except Exception:  # noqa: BLE001 (see the module docstring)
            log.error("could not tell the claimant about %s of claim %s", event, claim.claim_id, exc_info=True)
