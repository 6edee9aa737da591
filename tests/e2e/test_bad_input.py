"""Bad input gets a clear error or a visible status, and nothing is lost or done twice."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.tokens import DevTokenIssuer, new_dev_keypair
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.identity import SYSTEM
from harness.driver import post_form, wait_for
from tests import audit_events
from tests.receipts import LUNCH, SUBMIT, receipt_png

EVENTS = Path(__file__).resolve().parents[1] / "events"


def _in_approval(driver, employee="E201"):
    expense_id = driver.upload(employee, receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense(employee, expense_id, {"extracted", "needs_review"})
    status, body = driver.submit_alone(employee, expense_id, SUBMIT)
    assert status == 201, body
    claim_id = body["claim_id"]
    return claim_id, driver.approval_message(claim_id, level=1)


@pytest.mark.parametrize(
    ("request_body", "message"),
    [({"filename": "a.exe", "content_type": "application/x-msdownload", "size_bytes": 10}, "not accepted"),
     ({"filename": "big.pdf", "content_type": "application/pdf", "size_bytes": 40 * 1024 * 1024}, "limit is 15 MB"),
     ({"filename": "a.png", "content_type": "image/png", "size_bytes": -1}, "greater than 0")],
)
def test_upload_requests_that_could_never_be_read_are_refused(driver, request_body, message):
    status, body = driver.call("POST", "/uploads", request_body, driver.auth("E201"))
    assert status == 400
    assert message in json.dumps(body)


def test_corrupt_image_ends_failed_with_a_reason(driver):
    expense_id = driver.upload("E201", b"\x89PNG\r\n\x1a\n this is not really a PNG", "broken.png", "image/png")
    expense = driver.wait_expense("E201", expense_id, {"failed", "extracted", "needs_review"})
    assert expense["status"] == "failed"
    assert expense["failure_reason"]
    assert driver.submit_alone("E201", expense_id, SUBMIT)[0] == 400  # a receipt not read cannot be submitted


def test_object_larger_than_the_limit_ends_failed(driver, monkeypatch):
    bootstrap.container().settings.max_upload_bytes = 200_000
    data = receipt_png(*LUNCH) + b"\0" * 250_000  # lied about its size when asking for the URL
    status, body = driver.call("POST", "/uploads", {"filename": "r.png", "content_type": "image/png",
                                                    "size_bytes": 1000}, driver.auth("E201"))
    assert status == 201
    # moto does not enforce the form's content-length-range (S3 does), so the size is checked on arrival too
    post_form(body["upload"], data, "r.png", "image/png")
    expense = driver.wait_expense("E201", body["expense_id"], {"failed", "extracted", "needs_review"})
    assert expense["status"] == "failed" and "too large" in expense["failure_reason"]


def test_missing_invalid_and_foreign_tokens_get_401(driver):
    assert driver.call("GET", "/claims", None, {})[0] == 401
    assert driver.call("GET", "/claims", None, {"Authorization": "Bearer not-a-jwt"})[0] == 401
    settings = bootstrap.container().settings
    foreign = DevTokenIssuer(new_dev_keypair()[0], settings.auth_issuer, audience=settings.auth_client_id)
    token = foreign.issue("E900")  # the pool's issuer and audience, but a key the pool never published
    status, body = driver.call("GET", "/claims", None, {"Authorization": f"Bearer {token}"})
    assert status == 401 and "unknown key" in body["error"]
    expired = bootstrap.container().dev_issuer.issue("E201", ttl=-3600)
    assert driver.call("GET", "/claims", None, {"Authorization": f"Bearer {expired}"})[0] == 401


def test_negative_and_non_numeric_totals_are_refused(driver):
    expense_id = driver.upload("E201", receipt_png(*LUNCH), "lunch.png", "image/png")
    read = driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    for total in ("-90.00", "ninety"):
        status, body = driver.submit_alone("E201", expense_id, {**SUBMIT, "total": total})
        assert status == 400, body
        status, body = driver.edit_expense("E201", expense_id, {"total": total})
        assert status == 400, body
    after = driver.expense("E201", expense_id)
    assert after["status"] in {"extracted", "needs_review"} and after["claim_id"] is None
    assert after == read  # nothing changed: still unattached, no claim made
    assert driver.call("GET", "/claims", None, driver.auth("E201"))[1]["claims"] == []


def test_only_the_owner_can_submit(driver):
    expense_id = driver.upload("E201", receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    assert driver.submit_alone("E202", expense_id, SUBMIT)[0] == 404
    assert driver.call("GET", f"/expenses/{expense_id}", None, driver.auth("E202"))[0] == 404
    status, body = driver.create_claim("E201", "lunch", [expense_id])
    assert status == 201, body
    assert driver.submit("E202", body["claim_id"], SUBMIT)[0] == 404


def test_same_s3_event_delivered_twice_makes_one_expense(driver, stack):
    expense_id = driver.upload("E201", receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    c = bootstrap.container()
    expense = c.expenses.get(expense_id)
    before = len(c.expenses.history(expense_id))
    event = (EVENTS / "s3_object_created_via_sqs.json").read_text()
    event = event.replace("BUCKET", c.settings.uploads_bucket).replace("KEY", quote_plus(expense.s3_key))
    sqs = boto3.client("sqs", region_name="ap-east-1")
    for _ in range(2):
        sqs.send_message(QueueUrl=stack.arns["queue_url:upload-events"], MessageBody=event)
    assert c.expenses.get(expense_id) == expense
    assert len(c.expenses.history(expense_id)) == before
    assert [e.expense_id for e in c.expenses.unattached("E201")] == [expense_id]
    assert c.claims.by_employee("E201") == []
    done = boto3.client("dynamodb", region_name="ap-east-1").scan(TableName=c.settings.idempotency_table)["Items"]
    # moto's original event and the replayed one (sent twice, done once)
    assert [item["status"]["S"] for item in done] == ["COMPLETED", "COMPLETED"]


def test_upload_from_unknown_employee_is_kept_in_the_queue_not_lost(stack):
    c = bootstrap.container()
    key = "receipts/E999/e-" + "0" * 32 + "/r.png"
    boto3.client("s3", region_name="ap-east-1").put_object(Bucket=c.settings.uploads_bucket, Key=key, Body=b"x")
    assert c.expenses.get("e-" + "0" * 32) is None and c.expenses.locate("e-" + "0" * 32) is None
    sqs = boto3.client("sqs", region_name="ap-east-1")
    messages = sqs.receive_message(QueueUrl=stack.arns["queue_url:upload-events"], MaxNumberOfMessages=10)
    bodies = [m["Body"] for m in messages.get("Messages", [])]
    assert any("E999" in body for body in bodies)  # visible again for retry, then the DLQ after 3 receives


def test_forged_and_replayed_links_are_refused_and_audited(driver):
    c = bootstrap.container()
    now = datetime.now(UTC)
    c.approvals.now = lambda: now  # refusals are filed under their day: the same day however close to midnight
    claim_id, message = _in_approval(driver)
    forged = message["link"][:-3] + "abc"
    status, body = driver.decide(forged, "approve")
    assert status == 410 and "not genuine" in body["error"]
    status, body = driver.call("GET", "/approvals/not.valid", None, {"Accept": "application/json"})
    assert status == 410
    assert driver.decide(message["link"], "approve")[0] == 200
    assert driver.decide(message["link"], "approve")[0] == 410
    refusals = audit_events.events("REFUSED", now.date())
    assert [r.action for r in refusals] == ["approval.refused"] * len(refusals) and len(refusals) >= 2
    assert "claim_id" not in refusals[0].after  # forged: nothing in it can be trusted
    assert refusals[-1].after["claim_id"] == claim_id and "already been used" in refusals[-1].after["reason"]
    assert driver.wait_status("E201", claim_id, {"posted"})["decisions"][0]["approver_id"] == "E200"


def test_link_is_void_once_the_claim_changes(driver):
    claim_id, message = _in_approval(driver)
    c = bootstrap.container()
    claim = c.claims.get(claim_id)
    changed = claim.model_copy(update={"purpose": "changed after the link was sent", "version": claim.version + 1})
    c.claims.save(claim, changed, SYSTEM, action="claim.corrected_by_admin")
    status, body = driver.decide(message["link"], "approve")
    assert status == 410 and "changed after this link was sent" in body["error"]
    assert c.claims.get(claim_id).status == ClaimStatus.IN_APPROVAL


def test_double_click_decides_once(driver):
    claim_id, message = _in_approval(driver)
    results: list[int] = []

    def click():
        results.append(driver.decide(message["link"], "approve")[0])

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 410, 410, 410]
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted" and len(final["decisions"]) == 1


def test_finance_reads_only_their_own_department(driver):
    expense_id = driver.upload("E201", receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    # an unattached receipt is its owner's alone; once in a (draft) claim, finance of the department reads it
    assert driver.call("GET", f"/expenses/{expense_id}", None, driver.auth("E300"))[0] == 404
    status, body = driver.create_claim("E201", "client lunch", [expense_id])
    assert status == 201, body
    claim_id = body["claim_id"]
    assert driver.call("GET", f"/expenses/{expense_id}", None, driver.auth("E300"))[1]["claim_id"] == claim_id
    assert driver.call("GET", f"/expenses/{expense_id}", None, driver.auth("E121"))[0] == 404
    # E300 is finance in HK Sales; E121 is finance in SZ Operations
    status, body = driver.call("GET", "/claims", None, driver.auth("E300"))
    assert status == 200 and [c["claim_id"] for c in body["claims"]] == [claim_id]
    assert driver.call("GET", f"/claims/{claim_id}", None, driver.auth("E300"))[0] == 200
    assert driver.call("GET", f"/claims/{claim_id}", None, driver.auth("E121"))[0] == 404
    status, body = driver.call("GET", "/claims", None, driver.auth("E121"))
    assert status == 200 and body["claims"] == []
    assert driver.call("GET", "/claims?department=HK-SALES", None, driver.auth("E121"))[0] == 403
    status, body = driver.call("GET", "/dashboard/summary", None, driver.auth("E121"))
    assert status == 200 and body["count"] == 0
    assert driver.call("GET", "/dashboard/summary", None, driver.auth("E201"))[0] == 403


def test_approval_timeouts_never_fail_a_claim_silently(driver):
    """Every level times out at once: the claim climbs to the top, then waits at the escalation desk, which is
    told again at each further timeout; it never ends as failed for want of an answer."""
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"approval_timeout_seconds": 1}))
    expense_id = driver.upload("E201", receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    status, body = driver.submit_alone("E201", expense_id, SUBMIT)
    assert status == 201, body
    claim_id = body["claim_id"]

    def told_twice():
        driver.inbox.extend(driver.stack.approver_messages())
        desk = [m for m in driver.inbox if m.get("kind") == "escalation_desk" and m["claim"]["claim_id"] == claim_id]
        return len(desk) >= 2 and desk

    wait_for(told_twice)
    claim = c.claims.get(claim_id)
    assert claim.status == ClaimStatus.IN_APPROVAL and claim.awaiting_admin and claim.escalations >= 3


def test_stream_record_that_cannot_be_scored_lands_in_the_dead_letter_queue(stack):
    from harness import lambda_shim

    ddb = boto3.client("dynamodb", region_name="ap-east-1")
    ddb.put_item(TableName=bootstrap.container().settings.claims_table, Item={
        "claim_id": {"S": "c-broken"}, "department_id": {"S": "HK-SALES"}, "employee_id": {"S": "E201"},
        "created_at": {"S": "2026-11-03T00:00:00+00:00"}, "file_sha256": {"S": "x"}, "status": {"S": "submitted"},
        "version": {"N": "1"}, "body": {"S": "{not json"}})
    assert lambda_shim.drain()
    sqs = boto3.client("sqs", region_name="ap-east-1")
    messages = sqs.receive_message(QueueUrl=stack.arns["queue_url:claims-stream-dlq"]).get("Messages", [])
    assert len(messages) == 1
    failure = json.loads(messages[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "ValidationError" in failure["responseContext"]["functionError"]
