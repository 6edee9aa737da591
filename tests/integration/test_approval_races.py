"""Approval steps that time out at the moment someone decides, on the real repositories (moto)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from chalicelib import bootstrap
from chalicelib.domain.claim import Claim, ClaimStatus, Decision
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.domain.routing import ApprovalStep, Route
from chalicelib.services.approvals import requests as approvals


class RecordingWorkflow:
    def __init__(self):
        self.calls: list[tuple] = []

    def succeed(self, token, output):
        self.calls.append(("succeed", token, output["decision"]))
        return True

    def fail(self, token, error, cause):
        self.calls.append(("fail", token, error))
        return True

    def start(self, name, payload):
        self.calls.append(("start", name))

    def stop(self, name, cause):
        self.calls.append(("stop", name))


def _claim(**overrides) -> Claim:
    data = dict(claim_id="c-" + "1" * 32, employee_id="E201", department_id="HK-SALES", s3_key="k",
                file_sha256="f", vendor="Tsui Wah", receipt_date=date(2026, 11, 3), total=Money.of("90", "HKD"),
                status=ClaimStatus.IN_APPROVAL, approval_level=1, submission_count=1)
    data.update(overrides)
    return Claim(**data)


def _ctx(workflow):
    c = bootstrap.container()
    return dataclasses.replace(c.approvals, workflow=workflow, reminders=workflow)


def test_decision_recorded_as_the_wait_timed_out_is_handed_to_the_re_armed_task(stack):
    decided = Decision(level=1, approver_id="E200", decision="approved", decided_at=datetime.now(UTC),
                       content_hash="h")
    bootstrap.container().claims.create(_claim(decisions=[decided]), SYSTEM)
    workflow = RecordingWorkflow()
    step = ApprovalStep(level=1, role="line_manager", approver_id="E200")
    assert approvals.request_approval(_ctx(workflow), "c-" + "1" * 32, 1, step, "token-2") == "delivered"
    assert workflow.calls == [("succeed", "token-2", "approved")]
    assert stack.approver_messages() == []  # nobody is asked twice


def test_a_returned_claim_keeps_waiting_for_its_claimant(stack):
    c = bootstrap.container()
    workflow = RecordingWorkflow()
    ctx = _ctx(workflow)
    claim = _claim()
    c.claims.create(claim, SYSTEM)
    step = ApprovalStep(level=1, role="line_manager", approver_id="E200")
    link_id = approvals.request_approval(ctx, claim.claim_id, 1, step, "token-1")
    item = c.links.get(link_id)
    c.links.mark_used(item, state="returned")
    stored = c.claims.get(claim.claim_id)
    c.claims.save(stored, stored.moved_to(ClaimStatus.RETURNED), SYSTEM, action="test.returned")
    route = Route(steps=[step], count=1, second_signer_required=False, approval_timeout_seconds=60)

    assert approvals.escalate(ctx, claim.claim_id, 0, route).steps[0].approver_id == "E200"  # not escalated
    assert approvals.request_approval(ctx, claim.claim_id, 1, step, "token-2") == link_id
    assert c.links.get(link_id).task_token == "token-2" and c.links.get(link_id).state == "returned"
    assert c.claims.get(claim.claim_id).status == ClaimStatus.RETURNED
