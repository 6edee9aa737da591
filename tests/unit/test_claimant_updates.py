"""What the claimant is told, and that a message that cannot be sent never undoes the claim's outcome."""

import pytest

from chalicelib.domain.claim import ClaimStatus, LineItem
from chalicelib.domain.money import Money
from chalicelib.services.claimant_updates import ClaimantUpdates, compose
from tests.unit.domain.test_claim import make_claim


def test_a_failed_claim_says_why_and_that_finance_knows():
    claim = make_claim(status=ClaimStatus.FAILED, failure_reason="no approver could be routed")
    subject, message = compose(claim, "failed", "https://x/claim/c-1")
    assert "c-1" in subject and "no approver could be routed" in message["en"]
    assert "財務部已獲通知" in message["zh-Hant"]
    assert message["kind"] == "claim_update" and message["link"].endswith("c-1")


def test_a_fully_approved_claim_names_the_whole_amount_without_a_cut():
    _, message = compose(make_claim(status=ClaimStatus.POSTED), "posted", "u")
    assert "HKD 90.00 will be reimbursed." in message["en"] and "Not reimbursed" not in message["en"]


def test_partial_approval_lists_each_disallowed_line():
    lines = [LineItem(description="Room", amount=Money.of("900.00", "HKD")),
             LineItem(description="Minibar", amount=Money.of("120.00", "HKD"), disallowed_reason="personal")]
    claim = make_claim(status=ClaimStatus.POSTED, total=Money.of("1020.00", "HKD"), line_items=lines)
    _, message = compose(claim, "posted", "u")
    assert "HKD 900.00 will be reimbursed. Not reimbursed: Minibar 120.00 (personal)." in message["en"]


def test_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError):
        compose(make_claim(), "teleported", "u")


class _Down:
    def publish(self, **kwargs):
        raise ConnectionError("SNS unreachable")


class _Directory:
    def employee(self, employee_id):
        return None


def test_a_message_that_cannot_be_sent_is_logged_not_raised(caplog):
    ClaimantUpdates(_Down(), _Directory(), "u").tell(make_claim(status=ClaimStatus.REJECTED), "rejected")
    assert "could not tell the claimant" in caplog.text
