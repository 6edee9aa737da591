"""What the claimant is told (services/claimant_updates.py) through the employee-notifications port: each event's
subject and EN + 繁中 text with its reason, the routing attributes, and that a send failure is only logged."""

from __future__ import annotations

import logging

import pytest

from chalicelib.domain.claim import ClaimStatus, Decision
from chalicelib.services.claimant_updates import ClaimantUpdates
from tests.fakes import FakeNotifier, bootstrap_fakes
from tests.unit.services.support import put_claim

WHAT = "c-1 (Tsui Wah 翠華, HKD 90.00)"


@pytest.fixture
def app():
    return bootstrap_fakes()


def _tell(app, claim, event):
    app.approvals.claimants.tell(claim, event)
    (sent,) = app.employee_notifier.sent
    return sent


@pytest.mark.parametrize(("event", "status", "field", "subject", "en", "zh"), [
    ("returned", ClaimStatus.RETURNED, "return_reason", "Claim returned 申請退回",
     "was returned for correction: add the attendees. Please correct it and resubmit.",
     "已退回修改：add the attendees。請更正後重新提交。"),
    ("return_reminder", ClaimStatus.RETURNED, "return_reason", "Reminder 提醒: claim awaits your correction 申請待修改",
     "is still waiting for your correction: add the attendees. Approval resumes once you resubmit.",
     "仍待您修改：add the attendees。重新提交後即繼續審批。"),
    ("rejected", ClaimStatus.REJECTED, "rejection_reason", "Claim rejected 申請被拒",
     "was rejected: add the attendees.", "已被拒絕：add the attendees。"),
    ("failed", ClaimStatus.FAILED, "failure_reason", "Claim needs attention 申請需跟進",
     "could not be completed: add the attendees. Finance has been alerted.",
     "未能完成處理：add the attendees。財務部已獲通知。"),
])
def test_each_event_says_what_happened_and_why_in_english_and_traditional_chinese(app, event, status, field,
                                                                                   subject, en, zh):
    claim = put_claim(app, status=status, **{field: "add the attendees"})

    sent = _tell(app, claim, event)

    assert sent["subject"] == f"{subject}: c-1"
    assert sent["en"] == sent["default"] == f"Your claim {WHAT} {en}"
    assert sent["zh-Hant"] == f"您的報銷申請 {WHAT} {zh}"
    assert (sent["kind"], sent["event"], sent["claim_id"], sent["status"]) == (
        "claim_update", event, "c-1", status.value)
    assert sent["link"] == "https://expense.example/claim/c-1"
    assert sent["attributes"] == {"employee_id": "E201", "event": event, "timezone": "Asia/Hong_Kong"}


def test_posted_says_what_will_be_reimbursed(app):
    sent = _tell(app, put_claim(app, status=ClaimStatus.POSTED), "posted")
    assert sent["subject"] == "Claim approved 申請已批准: c-1"
    assert sent["en"] == f"Your claim {WHAT} was approved; HKD 90.00 will be reimbursed."
    assert sent["zh-Hant"] == f"您的報銷申請 {WHAT} 已批准，將報銷 HKD 90.00。"


def test_the_message_is_routed_to_the_claimants_time_zone(app):
    """E121 works in Shenzhen: the subscriber delivers in Asia/Shanghai."""
    claim = put_claim(app, employee_id="E121", status=ClaimStatus.REJECTED, rejection_reason="duplicate")
    assert _tell(app, claim, "rejected")["attributes"]["timezone"] == "Asia/Shanghai"


def test_a_claimant_missing_from_the_directory_is_still_told_in_hong_kong_time(app):
    claim = put_claim(app, employee_id="E999", status=ClaimStatus.FAILED, failure_reason="x")
    assert _tell(app, claim, "failed")["attributes"] == {"employee_id": "E999", "event": "failed",
                                                         "timezone": "Asia/Hong_Kong"}


def test_a_claim_without_vendor_or_amount_is_still_described(app):
    claim = put_claim(app, status=ClaimStatus.FAILED, vendor=None, total=None, failure_reason="unreadable")
    sent = _tell(app, claim, "failed")
    assert sent["en"].startswith("Your claim c-1 (receipt, no amount) could not be completed: unreadable.")


def test_the_message_names_nobody_but_the_claim(app):
    """A rejection carries the reason, never the approver who decided."""
    decision = Decision(level=1, approver_id="E200", decision="rejected", decided_at=app.clock(),
                        content_hash="h", comment="personal")
    claim = put_claim(app, status=ClaimStatus.REJECTED, rejection_reason="personal", decisions=[decision])
    sent = _tell(app, claim, "rejected")
    text = " ".join(str(v) for k, v in sent.items() if k != "attributes")
    assert "E200" not in text and "李嘉欣" not in text and "personal" in text


def test_an_unknown_event_is_refused_and_nothing_is_sent(app):
    claim = put_claim(app, status=ClaimStatus.POSTED)
    with pytest.raises(ValueError, match="unknown claim event 'teleported'"):
        app.approvals.claimants.tell(claim, "teleported")
    assert app.employee_notifier.sent == []


class _Down(FakeNotifier):
    def publish(self, subject, message, attributes):
        raise ConnectionError("SNS unreachable")


def test_a_notifier_that_raises_is_logged_and_not_re_raised(app, caplog):
    """Best effort: the outcome stands (the claim and the audit trail are the record); the failure is an error
    in the log naming the event and the claim."""
    updates = ClaimantUpdates(_Down(), app.directory, "https://expense.example")
    claim = put_claim(app, status=ClaimStatus.REJECTED, rejection_reason="duplicate")

    with caplog.at_level(logging.ERROR, logger="chalicelib.services.claimant_updates"):
        updates.tell(claim, "rejected")

    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "could not tell the claimant about rejected of claim c-1"
    assert record.exc_info and isinstance(record.exc_info[1], ConnectionError)
