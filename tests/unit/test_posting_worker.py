"""The posting worker (functions/posting_worker.py): one SQS message per claim; the approval flow's task answered
with the document (posted) or PostingFailed (the ledger refused it); a retryable failure reported alone for SQS to
redeliver, and on its last receive before the dead-letter queue the task failed with PostingDeferred."""

from __future__ import annotations

import json
from types import SimpleNamespace

from chalicelib.domain.claim import ClaimStatus
from functions import posting_worker
from tests.fakes import FakeWorkflow
from tests.unit.services.test_ledger_posting import World
from tests.unit.test_handlers import Context, event


def record(claim_id: str, token: str, receive: int = 1) -> dict:
    base = event("sqs_upload_events_batch.json")["Records"][0]
    return {**base, "messageId": f"m-{claim_id}", "attributes": {**base["attributes"],
                                                                  "ApproximateReceiveCount": str(receive)},
            "body": json.dumps({"claim_id": claim_id, "period": None, "task_token": token}),
            "eventSourceARN": "arn:aws:sqs:ap-east-1:123456789012:hk-expense-local-posting"}


def wire(monkeypatch) -> tuple[World, FakeWorkflow]:
    world, workflow = World(), FakeWorkflow()
    container = SimpleNamespace(posting=world.ctx, workflow=workflow, settings=SimpleNamespace(posting_max_receives=5))
    monkeypatch.setattr(posting_worker.bootstrap, "container", lambda: container)
    return world, workflow


def test_each_message_answers_its_task_and_only_the_retryable_one_comes_back(monkeypatch):
    world, workflow = wire(monkeypatch)
    for claim_id in ("c-ok", "c-down", "c-refused"):
        world.usd_claim(claim_id)
    # the fake answers the writes in order: the first is refused, the next three (all of c-down's) are 500s
    world.xero.inject("validation", method="PUT", message="Contact is archived")
    world.xero.inject("500", method="PUT", times=3)
    answer = posting_worker.handler({"Records": [record("c-refused", "t-refused"), record("c-down", "t-down"),
                                                 record("c-ok", "t-ok")]}, Context())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-c-down"}]}
    [(verb, token, output)] = [c for c in workflow.resumed() if c[1] == "t-ok"]
    assert (verb, output["status"], output["ledger"]) == ("succeed", "posted", "xero")
    [(verb, token, error, cause)] = [c for c in workflow.resumed() if c[1] == "t-refused"]
    assert (verb, error) == ("fail", "PostingFailed") and "Contact is archived" in cause
    assert not [c for c in workflow.resumed() if c[1] == "t-down"]  # still waiting: the queue retries
    assert world.app.claims.get("c-down").status == ClaimStatus.APPROVED


def test_the_last_receive_before_the_dead_letter_queue_ends_the_flow_deferred(monkeypatch):
    world, workflow = wire(monkeypatch)
    world.usd_claim("c-down")
    world.usd_claim("c-ok")
    world.xero.inject("500", method="PUT", times=3)

    answer = posting_worker.handler({"Records": [record("c-down", "t-down", receive=5), record("c-ok", "t-ok")]},
                                    Context())

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-c-down"}]}
    [(verb, token, error, cause)] = [c for c in workflow.resumed() if c[1] == "t-down"]
    assert (verb, error) == ("fail", "PostingDeferred") and "dead-lettered" in cause
    assert world.app.claims.get("c-down").status == ClaimStatus.APPROVED
    [told] = world.finance_told()  # finance hears of it once, in words, and reconciliation shows when
    assert (told["kind"], told["claim_id"]) == ("posting_dead_lettered", "c-down")
    assert "unavailable 5 times" in told["en"] and "死信佇列" in told["zh-Hant"]
    [held] = [r for r in world.records.by_period("2026-11") if r.claim_id == "c-down"]
    assert held.finance_told_at is not None


def test_an_earlier_receive_tells_finance_nothing(monkeypatch):
    world, _ = wire(monkeypatch)
    world.usd_claim("c-down")
    world.xero.inject("500", method="PUT", times=3)
    world.usd_claim("c-ok")
    answer = posting_worker.handler({"Records": [record("c-down", "t-down", receive=2), record("c-ok", "t-ok")]},
                                    Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-c-down"}]}
    assert world.finance_told() == []
