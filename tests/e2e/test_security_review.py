"""The approval-control findings of the security review, replayed through the API as the reviewer did them.

Each of these passed on the code the review tried (the hole was there) and fails now; the unit tests in
tests/unit/services/test_approval_controls.py cover the same rules branch by branch on fakes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from chalicelib import bootstrap
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from tests.e2e.test_approval_flow import submitted


def _delegate(driver, approver: str, delegate: str) -> tuple[int, dict]:
    now = datetime.now(UTC)
    return driver.call("PUT", "/me/delegation", {
        "delegate_id": delegate, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(), "reason": "leave"}, driver.auth(approver))


def _decide(driver, link: str, decision: str, caller: str | None = None) -> tuple[int, dict]:
    path = urlparse(link).path
    return driver.call("POST", f"{path}/decision", {"decision": decision, "comment": "review"},
                       driver.auth(caller) if caller else {})


def test_delegating_to_the_second_signer_does_not_let_one_person_sign_two_steps(driver):
    assert _delegate(driver, "E200", "E110")[0] == 200  # E110 is an approver: a lawful delegate in general
    claim_id = submitted(driver, total="6800.00")
    level1 = driver.approval_message(claim_id, level=1)
    assert (level1["approver_id"], level1["on_behalf_of"]) == ("E200", None)  # not E110: E110 signs level 2
    assert _decide(driver, level1["link"], "approve", "E200")[0] == 200
    level2 = driver.approval_message(claim_id, level=2)
    assert level2["approver_id"] == "E110"
    assert _decide(driver, level2["link"], "approve", "E110")[0] == 200
    claim = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert claim["status"] == "posted" and [d["approver_id"] for d in claim["decisions"]] == ["E200", "E110"]


def test_an_approver_cannot_delegate_to_a_plain_employee(driver):
    status, body = _delegate(driver, "E200", "E202")
    assert status == 400 and "not an approver" in body["error"]


def test_an_admin_cannot_reassign_a_step_to_himself(driver):
    claim_id = submitted(driver)
    driver.approval_message(claim_id, level=1)
    status, body = driver.call("POST", f"/admin/claims/{claim_id}/reassign",
                               {"approver_id": "E900", "reason": "I'll do it"}, driver.auth("E900"))
    assert status == 403 and "themself" in body["error"]


def test_an_admins_token_on_an_approvers_link_is_refused(driver):
    claim_id = submitted(driver)
    message = driver.approval_message(claim_id, level=1)
    status, body = _decide(driver, message["link"], "approve", "E900")
    assert status == 403 and "admins reassign" in body["error"]
    assert driver.claim("E201", claim_id)["decisions"] == []
    assert _decide(driver, message["link"], "approve")[0] == 200  # the approver's link still works


def test_above_the_dual_sign_threshold_the_link_alone_cannot_approve(driver):
    claim_id = submitted(driver, total="6800.00")
    message = driver.approval_message(claim_id, level=1)
    status, body = _decide(driver, message["link"], "approve")  # no Authorization header: anyone holding it
    assert status == 401 and "sign in as E200" in body["error"]
    status, body = _decide(driver, message["link"], "approve", "E201")  # the claimant, signed in
    assert status == 403
    assert _decide(driver, message["link"], "approve", "E200")[0] == 200


def test_a_changed_total_makes_the_signature_invalid_naming_the_field(driver):
    claim_id = submitted(driver)
    assert _decide(driver, driver.approval_message(claim_id, level=1)["link"], "approve")[0] == 200
    driver.wait_status("E201", claim_id, {"posted"})
    c = bootstrap.container()
    claim = c.claims.get(claim_id)
    [lunch] = claim.expenses
    tampered = lunch.model_copy(update={"total": Money.of("9000", "HKD")})  # the expense's total, on the claim
    c.claims.save(claim, claim.model_copy(update={"expenses": [tampered], "version": claim.version + 1}),
                  SYSTEM, action="test.tamper")
    status, body = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
    assert status == 200
    e = lunch.expense_id
    assert [(s["valid"], s.get("differs")) for s in body["signatures"]] == [
        (False, [f"expenses[{e}].hash", f"expenses[{e}].total", "totals"])]
