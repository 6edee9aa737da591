"""Directory-driven routing on the real state machine: return and resubmit, escalation, delegation,
reassignment, risk-driven finance review, and KMS e-signatures over each decision."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import boto3

from chalicelib import bootstrap
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.identity import SYSTEM
from infra.driver import wait_for
from tests.receipts import receipt_png

LUNCH = ("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", "52.00")])
SUBMIT = {"total": "90.00", "currency": "HKD", "category": "meals", "vendor": "Tsui Wah",
          "receipt_date": "2026-11-03"}


def submitted(driver, employee="E201", png=None, **edits):
    claim_id = driver.upload(employee, png or receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_status(employee, claim_id, {"extracted", "needs_review"})
    status, body = driver.submit(employee, claim_id, {**SUBMIT, **edits})
    assert status == 200, body
    return claim_id


def executions(stack) -> list[dict]:
    sfn = boto3.client("stepfunctions", region_name="ap-east-1")
    return sfn.list_executions(stateMachineArn=stack.arns["state_machine:approval"])["executions"]


def test_return_for_correction_continues_the_same_execution(driver, stack):
    claim_id = submitted(driver, purpose="")
    first = driver.approval_message(claim_id, level=1)
    status, body = driver.decide(first["link"], "return", "please add the purpose 請填寫用途")
    assert status == 200 and body["status"] == "returned"
    claim = driver.claim("E201", claim_id)
    assert claim["status"] == "returned" and claim["return_reason"].startswith("please add the purpose")

    status, body = driver.call("PATCH", f"/claims/{claim_id}", {"purpose": "lunch with client ABC"},
                               driver.auth("E201"))
    assert status == 200 and body["status"] == "returned"
    status, body = driver.submit("E201", claim_id)
    assert status == 200 and body["status"] == "in_approval", body
    again = driver.approval_message(claim_id, level=1)
    assert again["link"] != first["link"] and again["claim"]["purpose"] == "lunch with client ABC"
    assert driver.decide(first["link"], "approve")[0] == 410  # the returned link is spent
    assert driver.decide(again["link"], "approve")[0] == 200
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    trail = [r.action for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}")]
    assert final["status"] == "posted", (final["failure_reason"], trail)
    assert [d["decision"] for d in final["decisions"]] == ["returned", "approved"]
    assert len(executions(stack)) == 1  # continued, not restarted


def test_unanswered_step_escalates_one_level_up(driver):
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"approval_timeout_seconds": 2}))
    claim_id = submitted(driver)
    first = driver.approval_message(claim_id, level=1)
    assert first["approver_id"] == "E200"
    # the escalated step waits under the SLA in force when it escalates
    c.directory.put_policy(c.directory.policy().model_copy(update={"approval_timeout_seconds": 3600}))
    escalated = driver.approval_message(claim_id, level=1, seconds=20)
    assert escalated["approver_id"] == "E100"  # E200's manager
    status, body = driver.decide(first["link"], "approve")
    assert status == 410 and "replaced" in body["error"]
    assert driver.decide(escalated["link"], "approve")[0] == 200
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted" and final["escalations"] == 1
    assert final["decisions"][0]["approver_id"] == "E100"


def test_delegate_approves_on_behalf_of_the_approver(driver):
    now = datetime.now(UTC)
    status, body = driver.call("PUT", "/me/delegation", {
        "delegate_id": "E300", "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(), "reason": "annual leave 年假"}, driver.auth("E200"))
    assert status == 200, body
    claim_id = submitted(driver)
    message = driver.approval_message(claim_id, level=1)
    assert message["approver_id"] == "E300" and message["on_behalf_of"] == "E200"
    assert "on behalf of E200" in message["en"]
    assert driver.decide(message["link"], "approve")[0] == 200
    final = driver.wait_status("E201", claim_id, {"posted"})
    assert final["decisions"][0]["approver_id"] == "E300" and final["decisions"][0]["on_behalf_of"] == "E200"


def test_admin_reassigns_a_waiting_step(driver):
    claim_id = submitted(driver)
    first = driver.approval_message(claim_id, level=1)
    reassign = {"approver_id": "E100", "reason": "E200 left the company"}
    assert driver.call("POST", f"/admin/claims/{claim_id}/reassign", reassign, driver.auth("E201"))[0] == 403
    assert driver.call("POST", f"/admin/claims/{claim_id}/reassign", {**reassign, "approver_id": "E201"},
                       driver.auth("E900"))[0] == 403  # never to the claimant
    status, body = driver.call("POST", f"/admin/claims/{claim_id}/reassign", reassign, driver.auth("E900"))
    assert status == 200, body
    new = driver.approval_message(claim_id, level=1)
    assert new["approver_id"] == "E100"
    assert driver.decide(first["link"], "approve")[0] == 410
    assert driver.decide(new["link"], "approve")[0] == 200
    assert driver.wait_status("E201", claim_id, {"posted"})["decisions"][0]["approver_id"] == "E100"
    actions = [r.action for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}")]
    assert "approval.reassigned" in actions


def test_high_risk_claim_adds_a_finance_review_step(driver):
    png = receipt_png(*LUNCH)
    first = submitted(driver, png=png)
    driver.decide(driver.approval_message(first, level=1)["link"], "approve")
    driver.wait_status("E201", first, {"posted"})
    duplicate = submitted(driver, png=png)  # the same receipt file again: risk 0.95
    level1 = driver.approval_message(duplicate, level=1)
    assert any("duplicate" in reason for reason in level1["risk_reasons"])
    assert driver.decide(level1["link"], "approve")[0] == 200
    review = driver.approval_message(duplicate, level=2)
    assert (review["role"], review["approver_id"]) == ("finance_review", "E110")
    assert driver.decide(review["link"], "reject", "duplicate of an earlier claim")[0] == 200
    assert driver.wait_status("E201", duplicate, {"rejected"})["rejection_reason"] == "duplicate of an earlier claim"


def test_decisions_are_kms_signed_and_tampering_is_detected(driver):
    claim_id = submitted(driver)
    assert driver.decide(driver.approval_message(claim_id, level=1)["link"], "approve", "ok 同意")[0] == 200
    driver.wait_status("E201", claim_id, {"posted"})
    status, body = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
    assert status == 200 and [s["valid"] for s in body["signatures"]] == [True]

    c = bootstrap.container()
    claim = c.claims.get(claim_id)
    forged = claim.decisions[0].model_copy(update={"comment": "ok, and also pay me double"})
    c.claims.save(claim, claim.model_copy(update={"decisions": [forged], "version": claim.version + 1}), SYSTEM,
                  action="test.tamper")
    status, body = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
    assert [s["valid"] for s in body["signatures"]] == [False]
    assert c.claims.get(claim_id).status == ClaimStatus.POSTED


def test_sla_clock_pauses_during_a_typhoon_signal(driver):
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"approval_timeout_seconds": 1}))
    assert driver.call("PUT", "/admin/weather", {"signal": "T8"}, driver.auth("E900"))[0] == 200
    claim_id = submitted(driver)
    message = driver.approval_message(claim_id, level=1)
    def paused() -> list:
        return [r for r in c.audit.records(f"CLAIM#{claim_id}") if r.action == "approval.sla_paused"]

    wait_for(paused, seconds=20)
    assert driver.stack.approver_messages() == []  # no escalation, no new link while the signal is up
    c.directory.put_policy(c.directory.policy().model_copy(update={"approval_timeout_seconds": 3600}))
    wait_for(lambda: any(r.after["waits_again_seconds"] == 3600 for r in paused()), seconds=20)
    # moto accepts SendTaskSuccess on a task that has just timed out without error (AWS answers TaskTimedOut,
    # which decide() handles); give the re-armed wait a moment to take its new token before deciding
    time.sleep(2)
    assert driver.decide(message["link"], "approve")[0] == 200  # the link sent before the typhoon still works
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted" and final["escalations"] == 0
