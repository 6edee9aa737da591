"""Directory-driven routing on the real state machine: return and resubmit, escalation, delegation,
reassignment, risk-driven finance review, and KMS e-signatures over each decision.

Escalation tests need a wait to time out (a short SLA) and the next one not to. Rather than racing the state
machine to change the SLA in between, they change it inside the escalation itself (`before_escalating`), at the
moment the escalation reads the policy, so the order is the same however slow the machine is."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import boto3

from chalicelib import bootstrap
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.identity import SYSTEM
from chalicelib.services.approvals import requests as approvals
from harness import iam_recorder
from harness.driver import WAIT_SECONDS, wait_for
from tests.receipts import LUNCH, SUBMIT, receipt_png


def submitted(driver, employee="E201", png=None, **edits):
    """A receipt uploaded, read and submitted on its own: the one-expense claim's id."""
    expense_id = driver.upload(employee, png or receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense(employee, expense_id, {"extracted", "needs_review"})
    status, body = driver.submit_alone(employee, expense_id, {**SUBMIT, **edits})
    assert status == 201, body
    assert body["status"] == "submitted" and [e["expense_id"] for e in body["expenses"]] == [expense_id]
    return body["claim_id"]


def set_sla(seconds: int) -> None:
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"approval_timeout_seconds": seconds}))


def before_escalating(monkeypatch, actions: dict[str, Callable[[], None]]) -> None:
    """Run `actions[approver]` inside the Escalate task of a step `approver` left unanswered, before it reads the
    policy: what a test does "between two timeouts" then happens at a fixed point of the flow, not in a race with
    it. Keyed by approver, not by call count, so a retried Escalate runs the same action again harmlessly."""
    real = approvals.escalate

    def escalate(ctx, claim_id, idx, route):
        action = actions.get(route.steps[idx].approver_id)
        if action is not None:
            with iam_recorder.running(None):  # the test's step, not the function's: not charged to its role
                action()
        return real(ctx, claim_id, idx, route)

    monkeypatch.setattr(approvals, "escalate", escalate)


def gate(event: threading.Event) -> Callable[[], None]:
    """An action that holds the escalation until the test has done its part (bounded, never a hang)."""
    return lambda: event.wait(WAIT_SECONDS)


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
    told = driver.claimant_message(claim_id, "returned")
    assert "please add the purpose 請填寫用途" in told["en"] and "已退回修改" in told["zh-Hant"]

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


def test_unanswered_step_escalates_one_level_up(driver, monkeypatch):
    set_sla(2)
    # the escalated step waits under the SLA in force when it escalates: an hour, set as E200's step escalates
    before_escalating(monkeypatch, {"E200": lambda: set_sla(3600)})
    claim_id = submitted(driver)
    first = driver.approval_message(claim_id, level=1)
    assert first["approver_id"] == "E200"
    escalated = driver.approval_message(claim_id, level=1)
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
    assert driver.decide_signed_in(level1["link"], "approve")[0] == 200
    review = driver.approval_message(duplicate, level=2)
    assert (review["role"], review["approver_id"]) == ("finance_review", "E110")
    assert driver.decide_signed_in(review["link"], "reject", "duplicate of an earlier claim")[0] == 200
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


def test_sla_clock_pauses_during_a_typhoon_signal(driver, monkeypatch):
    c = bootstrap.container()
    set_sla(2)
    before_escalating(monkeypatch, {"E200": lambda: set_sla(3600)})  # timed out once under the signal; then an hour
    armed: list[str] = []  # the link each AwaitDecision task took, once its request_approval has finished
    real_request = approvals.request_approval

    def request_approval(*args, **kwargs):
        link_id = real_request(*args, **kwargs)
        armed.append(link_id)
        return link_id

    monkeypatch.setattr(approvals, "request_approval", request_approval)
    assert driver.call("PUT", "/admin/weather", {"signal": "T8"}, driver.auth("E900"))[0] == 200
    claim_id = submitted(driver)
    message = driver.approval_message(claim_id, level=1)
    paused = wait_for(lambda: [r for r in c.audit.records(f"CLAIM#{claim_id}") if r.action == "approval.sla_paused"])
    assert [r.after["waits_again_seconds"] for r in paused] == [3600]
    # Decide only once the re-armed wait has taken the link over with its own task token: moto accepts
    # SendTaskSuccess on the task that has just timed out without error (AWS answers TaskTimedOut, which
    # decide() handles), and the decision would be lost.
    wait_for(lambda: len(armed) == 2)
    assert armed[0] == armed[1]  # the same link: the SLA paused, nobody new was asked
    assert driver.stack.approver_messages() == []  # no escalation, no new link while the signal is up
    assert driver.decide(message["link"], "approve")[0] == 200  # the link sent before the typhoon still works
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted" and final["escalations"] == 0


def test_a_late_approver_with_nobody_above_goes_to_the_escalation_desk(driver, monkeypatch):
    c = bootstrap.container()
    set_sla(2)
    before_escalating(monkeypatch, {"E100": lambda: set_sla(3600)})  # the desk's re-armed wait: an hour
    claim_id = submitted(driver)
    assert driver.approval_message(claim_id, level=1)["approver_id"] == "E200"
    top = driver.approval_message(claim_id, level=1)
    assert top["approver_id"] == "E100"  # nobody is above E100

    def desk_message():
        driver.inbox.extend(driver.stack.approver_messages())
        return next((m for m in driver.inbox if m.get("kind") == "escalation_desk"
                     and m["claim"]["claim_id"] == claim_id), None)

    desk = wait_for(desk_message)
    assert desk["waiting_on"] == "E100" and desk["desk"] == ["E900"] and "逾時" in desk["zh-Hant"]
    claim = driver.claim("E201", claim_id)
    assert claim["status"] == "in_approval" and "nobody above E100" in claim["awaiting_admin"]

    assert driver.call("GET", "/admin/escalations", None, driver.auth("E200"))[0] == 403
    status, body = driver.call("GET", "/admin/escalations", None, driver.auth("E900"))
    assert status == 200 and [row["claim_id"] for row in body["claims"]] == [claim_id]
    assert body["claims"][0]["waiting_on"] == "E100"

    reassign = {"approver_id": "E110", "reason": "E100 travelling; E110 covers"}
    assert driver.call("POST", f"/admin/claims/{claim_id}/reassign", reassign, driver.auth("E900"))[0] == 200
    covered = driver.approval_message(claim_id, level=1)
    assert covered["approver_id"] == "E110"
    assert driver.call("GET", "/admin/escalations", None, driver.auth("E900"))[1]["claims"] == []
    assert driver.decide(top["link"], "approve")[0] == 410
    assert driver.decide(covered["link"], "approve")[0] == 200
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted" and final["awaiting_admin"] is None
    actions = [r.action for r in c.audit.records(f"CLAIM#{claim_id}")]
    assert "approval.level_1.escalation_desk" in actions


def test_an_approver_disallows_one_line_and_the_rest_is_posted(driver):
    claim_id = submitted(driver)  # the lunch receipt: milk tea 38.00 + noodles 52.00, read as two lines
    claim = driver.claim("E201", claim_id)
    assert [(li["description"], li["amount"]["amount"]) for li in claim["expenses"][0]["line_items"]] == [
        ("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", "52.00")]
    message = driver.approval_message(claim_id, level=1)
    assert [li["amount"] for li in message["claim"]["line_items"]] == ["38.00", "52.00"]
    link = message["link"]

    refusals = [
        {"decision": "approve", "disallow": [{"line": 0, "reason": "x"}, {"line": 1, "reason": "y"}]},  # all
        {"decision": "approve", "disallow": [{"line": 5, "reason": "no such line"}]},
        {"decision": "reject", "disallow": [{"line": 0, "reason": "partial only when approving"}]},
        {"decision": "approve", "disallow": [{"line": 0, "reason": ""}]},  # a reason is required
    ]
    path = link.split("://", 1)[1].split("/", 1)[1]
    for body in refusals:
        status, answer = driver.call("POST", f"/{path}/decision", body, {})
        assert status == 400, (body, answer)
    partial = {"decision": "approve", "comment": "lunch ok",
               "disallow": [{"line": 0, "reason": "drinks are not reimbursed 飲品不予報銷"}]}
    status, answer = driver.call("POST", f"/{path}/decision", partial, {})
    assert status == 200, answer  # the refused attempts did not spend the link
    assert driver.decide(link, "approve")[0] == 410

    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted", final["failure_reason"]
    [lunch] = final["expenses"]
    assert lunch["line_items"][0]["disallowed_reason"].startswith("drinks")
    assert lunch["line_items"][0]["disallowed_by"] == "E200" and lunch["line_items"][1]["disallowed_reason"] is None
    # signed as the item cut: the expense's first line
    assert final["decisions"][0]["disallowed_items"] == [f"{lunch['expense_id']}#0"]
    entry = bootstrap.container().ledger.get(final["journal_id"])
    assert [line.debit_hkd + line.credit_hkd for line in entry.lines] == [Decimal("52.00"), Decimal("52.00")]
    assert "partly approved: 52.00 of 90.00 HKD" in entry.lines[0].description
    told = driver.claimant_message(claim_id, "posted")
    assert "HKD 52.00 will be reimbursed" in told["en"] and "奶茶 Milk Tea 38.00 (drinks" in told["en"]
    assert "將報銷 HKD 52.00" in told["zh-Hant"]
    status, signatures = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
    assert status == 200 and all(s["valid"] for s in signatures["signatures"]), signatures


def test_an_approver_sees_what_waits_for_them_with_the_link_they_were_sent(driver):
    claim_id = submitted(driver)
    message = driver.approval_message(claim_id, level=1)
    status, body = driver.call("GET", "/me/approvals", None, driver.auth("E200"))
    assert status == 200
    waiting = [row for row in body["approvals"] if row["claim_id"] == claim_id]
    assert len(waiting) == 1 and waiting[0]["link"] == message["link"] and waiting[0]["total"] == "90.00"
    others = driver.call("GET", "/me/approvals", None, driver.auth("E100"))[1]["approvals"]
    assert claim_id not in [row["claim_id"] for row in others]  # not E100's step
    assert driver.call("GET", "/me/approvals", None, {})[0] == 401
    assert driver.decide(waiting[0]["link"], "approve")[0] == 200
    after = driver.call("GET", "/me/approvals", None, driver.auth("E200"))[1]["approvals"]
    assert claim_id not in [row["claim_id"] for row in after]


def test_a_step_waiting_past_its_link_lifetime_gets_a_fresh_link(driver, monkeypatch):
    c = bootstrap.container()
    c.approvals.link_ttl_seconds = 3  # E100's link lives 3 s: the desk's re-armed wait (an hour) outlives it

    def at_the_desk():  # E100 timed out: the desk's re-armed wait is an hour, and links issued now last
        set_sla(3600)
        c.approvals.link_ttl_seconds = 3600

    set_sla(2)
    before_escalating(monkeypatch, {"E100": at_the_desk})
    claim_id = submitted(driver)
    assert driver.approval_message(claim_id, level=1)["approver_id"] == "E200"
    top = driver.approval_message(claim_id, level=1)
    assert top["approver_id"] == "E100"
    fresh = driver.approval_message(claim_id, level=1)  # re-armed at the desk: same approver, new link
    assert fresh["approver_id"] == "E100" and fresh["link"] != top["link"]
    assert driver.claim("E201", claim_id)["awaiting_admin"]  # still on the desk's list: nobody new was asked
    assert driver.decide(top["link"], "approve")[0] == 410  # replaced
    assert driver.decide(fresh["link"], "approve")[0] == 200
    assert driver.wait_status("E201", claim_id, {"posted", "failed"})["status"] == "posted"


def test_a_lost_optimistic_lock_race_in_a_step_is_retried_not_failed(driver, monkeypatch):
    from chalicelib.domain.errors import ConcurrentChange
    from chalicelib.services.approvals import requests as approvals

    real, raised = approvals.request_approval, []

    def once_racing(*args, **kwargs):
        if not raised:
            raised.append(True)
            raise ConcurrentChange("a reminder wrote the claim's audit chain meanwhile")
        return real(*args, **kwargs)

    monkeypatch.setattr(approvals, "request_approval", once_racing)
    claim_id = submitted(driver)
    message = driver.approval_message(claim_id, level=1)
    assert raised and driver.decide(message["link"], "approve")[0] == 200
    assert driver.wait_status("E201", claim_id, {"posted", "failed"})["status"] == "posted"


def test_an_approver_decides_several_claims_at_once_each_signed(driver):
    dinner = ("太興 Tai Hing", date(2026, 11, 4), [("燒味飯 Roast Rice", "68.00")])
    first = submitted(driver)
    second = submitted(driver, employee="E202", png=receipt_png(*dinner), total="68.00", vendor="Tai Hing",
                       receipt_date="2026-11-04")
    others = submitted(driver, employee="E121", png=receipt_png("Taxi", date(2026, 11, 5), [("Fare", "55.00")]),
                       total="55.00", vendor="Taxi", receipt_date="2026-11-05")  # E120 approves it, not E200
    for claim_id in (first, second):
        driver.approval_message(claim_id, level=1)
    body = {"claims": [first, second, others, first, "c-missing"], "decision": "approve", "comment": "batch 批量"}
    assert driver.call("POST", "/me/approvals/decisions", body, {})[0] == 401
    assert driver.call("POST", "/me/approvals/decisions", {**body, "claims": []}, driver.auth("E200"))[0] == 400
    status, answer = driver.call("POST", "/me/approvals/decisions", body, driver.auth("E200"))
    assert status == 200, answer
    results = {r["claim_id"]: r for r in answer["results"]}
    assert len(answer["results"]) == 4  # the repeated claim is decided once
    assert results[first]["decision"] == results[second]["decision"] == "approved"
    assert "error" in results[others] and "error" in results["c-missing"]
    for claim_id, employee in ((first, "E201"), (second, "E202")):
        final = driver.wait_status(employee, claim_id, {"posted", "failed"})
        assert final["status"] == "posted" and final["decisions"][0]["comment"] == "batch 批量"
        status, signatures = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
        assert status == 200 and [s["valid"] for s in signatures["signatures"]] == [True]
    assert driver.claim("E121", others)["status"] == "in_approval"  # untouched


def test_the_top_of_the_company_claims_through_the_policys_top_approver(driver):
    claim_id = submitted(driver, employee="E100")  # nobody above E100; the policy names the audit committee chair
    message = driver.approval_message(claim_id, level=1)
    assert message["approver_id"] == "E050"
    assert driver.decide(message["link"], "approve")[0] == 200
    assert driver.wait_status("E100", claim_id, {"posted", "failed"})["status"] == "posted"


def test_a_claimant_slower_than_the_sla_is_reminded_and_nobody_above_is_chased(driver, monkeypatch):
    returned = threading.Event()

    def once_returned():  # a wait that timed out before the return was recorded is handled after it
        returned.wait(WAIT_SECONDS)
        set_sla(3600)  # one reminder is enough for this test

    set_sla(2)
    before_escalating(monkeypatch, {"E200": once_returned})
    claim_id = submitted(driver, purpose="")
    message = driver.approval_message(claim_id, level=1)
    try:
        assert driver.decide(message["link"], "return", "please add the purpose")[0] == 200
    finally:
        returned.set()
    reminder = driver.claimant_message(claim_id, "return_reminder")
    assert "still waiting for your correction: please add the purpose" in reminder["en"]
    assert "仍待您修改" in reminder["zh-Hant"]
    claim = driver.claim("E201", claim_id)
    assert claim["status"] == "returned" and claim["escalations"] == 0


def test_finance_sees_who_is_sitting_on_claims_in_its_department(driver):
    lunch = submitted(driver)
    dinner = submitted(driver, employee="E202", png=receipt_png("太興 Tai Hing", date(2026, 11, 4),
                                                                [("燒味飯 Roast Rice", "68.00")]),
                       total="68.00", vendor="Tai Hing", receipt_date="2026-11-04")
    ops = submitted(driver, employee="E121", png=receipt_png("Taxi", date(2026, 11, 5), [("Fare", "55.00")]),
                    total="55.00", vendor="Taxi", receipt_date="2026-11-05")
    for claim_id in (lunch, dinner, ops):
        driver.approval_message(claim_id, level=1)
    assert driver.call("GET", "/dashboard/approvals", None, driver.auth("E201"))[0] == 403
    status, body = driver.call("GET", "/dashboard/approvals", None, driver.auth("E300"))  # finance, HK Sales
    assert status == 200
    assert [(r["approver_id"], r["waiting"], r["hkd_waiting"]) for r in body["approvers"]] == [("E200", 2, "158.00")]
    everyone = driver.call("GET", "/dashboard/approvals", None, driver.auth("E400"))[1]["approvers"]  # auditor
    assert {r["approver_id"]: r["waiting"] for r in everyone} == {"E200": 2, "E120": 1}
