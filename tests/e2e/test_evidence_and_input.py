"""Evidence and input (security review): what a claimant types or uploads cannot strand, break or replace a
claim. Each test failed before its fix."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
from decimal import Decimal

import boto3

from chalicelib import bootstrap
from chalicelib.extraction.models import ExtractedReceipt
from harness.driver import post_form, wait_for
from tests.receipts import LUNCH, SUBMIT, blank_pdf, receipt_png


def _extracted(driver, employee="E201"):
    expense_id = driver.upload(employee, receipt_png(*LUNCH), "lunch.png", "image/png")
    driver.wait_expense(employee, expense_id, {"extracted", "needs_review"})
    return expense_id


def _draft(driver, expense_id, employee="E201") -> str:
    status, body = driver.create_claim(employee, "lunch", [expense_id])
    assert status == 201, body
    return body["claim_id"]


def test_a_made_up_currency_is_refused_where_it_is_typed(driver):
    expense_id = _extracted(driver)
    before = driver.expense("E201", expense_id)
    for method, path in (("PATCH", f"/expenses/{expense_id}"), ("POST", f"/expenses/{expense_id}/submit")):
        status, body = driver.call(method, path, {**SUBMIT, "currency": "ZZZ"}, driver.auth("E201"))
        assert status == 400, body
        assert "'ZZZ' is not an ISO 4217 currency code" in json.dumps(body, ensure_ascii=False)
    assert driver.expense("E201", expense_id) == before
    claim_id = _draft(driver, expense_id)  # and on a draft claim holding it
    draft = driver.claim("E201", claim_id)
    for method, path in (("PATCH", f"/claims/{claim_id}"), ("POST", f"/claims/{claim_id}/submit"),
                         ("PATCH", f"/expenses/{expense_id}")):
        status, body = driver.call(method, path, {**SUBMIT, "currency": "ZZZ"}, driver.auth("E201"))
        assert status == 400, body
        assert "'ZZZ' is not an ISO 4217 currency code" in json.dumps(body, ensure_ascii=False)
    assert driver.claim("E201", claim_id) == draft


def test_absurd_amounts_get_a_clear_400_not_a_500(driver):
    expense_id = _extracted(driver)
    edits = ({"total": "1e26"}, {"total": "10,000,000,000.01"},
             {**SUBMIT, "line_items": [{"description": "tea", "amount": "1e26"}]})
    for edit in edits:
        for method, path in (("PATCH", f"/expenses/{expense_id}"), ("POST", f"/expenses/{expense_id}/submit")):
            status, body = driver.call(method, path, edit, driver.auth("E201"))
            assert status == 400, (edit, body)
            assert "too large" in body["error"] and "10,000,000,000" in body["error"]
    claim_id = _draft(driver, expense_id)
    for edit in edits:
        for method, path in (("PATCH", f"/claims/{claim_id}"), ("POST", f"/claims/{claim_id}/submit")):
            status, body = driver.call(method, path, edit, driver.auth("E201"))
            assert status == 400, (edit, body)
            assert "too large" in body["error"] and "10,000,000,000" in body["error"]
    status, body = driver.call("PATCH", f"/expenses/{expense_id}", {"total": "10000000000"}, driver.auth("E201"))
    assert status == 200 and body["total"]["amount"] == "10000000000"  # the bound itself is accepted
    assert body["claim_id"] == claim_id


def test_a_currency_without_an_hkd_rate_fails_visibly_and_the_claimant_is_told(driver):
    """THB is real ISO 4217 but finance configured no rate: before, scoring raised, the stream record went to the
    dead-letter queue and the claim stayed `submitted` for ever. A claim is valued in HKD when it is submitted,
    so the claimant is told there, in the answer to the submission, and nothing is left half-done."""
    assert "THB" not in bootstrap.container().directory.policy().fx.hkd_per_unit
    expense_id = _extracted(driver)
    before = driver.expense("E201", expense_id)
    status, body = driver.submit_alone("E201", expense_id, {**SUBMIT, "currency": "THB"})
    assert status == 400, body
    assert "no HKD exchange rate is configured for THB" in body["error"]
    assert driver.expense("E201", expense_id) == before  # still unattached, unchanged: no claim stuck anywhere
    claim_id = _draft(driver, expense_id)
    assert driver.edit_expense("E201", expense_id, {"currency": "THB"})[0] == 200  # a draft may hold it
    status, body = driver.submit("E201", claim_id)
    assert status == 400 and "no HKD exchange rate is configured for THB" in body["error"], body
    assert driver.claim("E201", claim_id)["status"] == "draft"


def test_the_local_servers_request_log_never_holds_an_approval_token(stack, caplog, capfd):
    """`make demo` serves approval links; before, the request log printed `/approvals/<token>` whole."""
    import http.client
    import socket

    from harness import demo

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = demo.start_api(port)
    token = "eyJsaW5rIjoiYWJjIn0.secret-signature-xyz"
    try:
        with caplog.at_level("INFO", logger="hk-expense.local-api"):
            for path in (f"/approvals/{token}", f"/approvals/{token}/decision", "/claims/c-1"):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
    finally:
        if server is not None:
            server.server.shutdown()
            server.server.server_close()
    logged = [r.getMessage() for r in caplog.records if r.name == "hk-expense.local-api"]
    out, err = capfd.readouterr()
    assert "secret-signature-xyz" not in " ".join(logged) + out + err + caplog.text
    assert any('"GET /approvals/{token} HTTP/1.1" 410' in line for line in logged), logged
    assert any("/approvals/{token}/decision" in line for line in logged)
    assert any("/claims/c-1" in line for line in logged)


def _upload_form(driver, size: int, employee="E201", content_type="image/png") -> dict:
    status, body = driver.call("POST", "/uploads", {"filename": "lunch.png", "content_type": content_type,
                                                    "size_bytes": size}, driver.auth(employee))
    assert status == 201, body
    return body


def test_the_upload_form_binds_the_declared_size_the_key_and_the_type(driver):
    """Before: a presigned PUT, which binds no size (a declared 1 KB upload took 40 MB)."""
    body = _upload_form(driver, 1000)
    upload = body["upload"]
    assert upload["method"] == "POST" and upload["max_bytes"] == 1000
    assert upload["fields"]["key"] == body["key"] and upload["fields"]["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1000] in conditions
    assert {"key": body["key"]} in conditions and {"Content-Type": "image/png"} in conditions
    assert {"bucket": bootstrap.container().settings.uploads_bucket} in conditions
    # moto does not enforce the policy, so S3's refusal of a larger body is not observable here: the size is
    # checked again on arrival (next tests)


def test_a_replaced_receipt_is_audited_and_the_expense_keeps_the_version_it_was_read_from(driver):
    first, second = receipt_png(*LUNCH), receipt_png("Maxim's 美心", date(2026, 11, 4), [("Cake", "900.00")])
    body = _upload_form(driver, len(first))
    post_form(body["upload"], first, "lunch.png", "image/png")
    expense_id = body["expense_id"]
    read = driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    assert read["s3_version_id"] and read["file_sha256"] == hashlib.sha256(first).hexdigest()

    post_form(body["upload"], second, "lunch.png", "image/png")  # the same form, reused within its 15 minutes
    c = bootstrap.container()

    def replaced():
        return [r for r in c.expenses.history(expense_id) if r.action == "evidence.replaced"]

    [record] = wait_for(replaced)
    assert record.actor_id == c.expenses.history(expense_id)[0].actor_id  # the system, on the expense's chain
    assert record.after["expense_id"] == expense_id
    assert record.after["claim_version_id"] == read["s3_version_id"]
    assert record.after["claim_sha256"] == hashlib.sha256(first).hexdigest()
    assert record.after["new_sha256"] == hashlib.sha256(second).hexdigest()
    assert record.after["new_version_id"] not in (None, read["s3_version_id"])
    assert driver.expense("E201", expense_id) == read  # the expense did not change
    kept = boto3.client("s3", region_name="ap-east-1").get_object(
        Bucket=c.settings.uploads_bucket, Key=read["s3_key"], VersionId=read["s3_version_id"])["Body"].read()
    assert kept == first  # the evidence the expense was read from stays

    from chalicelib.services import extraction  # the replacement's event delivered again: recorded once

    extraction.process_upload(read["s3_key"], c.uploads, c.expenses, c.claims, c.directory, c.extractor,
                              c.settings.max_upload_bytes)
    assert len(replaced()) == 1
    # submitted, the claim is of the version read, with the first file's hash
    status, claim = driver.submit_alone("E201", expense_id, SUBMIT)
    assert status == 201, claim
    assert claim["expenses"][0]["s3_version_id"] == read["s3_version_id"]
    assert claim["expenses"][0]["file_sha256"] == hashlib.sha256(first).hexdigest()
    assert driver.approval_message(claim["claim_id"], level=1)["approver_id"] == "E200"
    # an auditor reads the replacement through the API: on the expense, and with the claim that holds it now
    status, trail = driver.call("GET", f"/expenses/{expense_id}/audit", None, driver.auth("E400"))
    assert status == 200 and trail["claim_id"] == claim["claim_id"]
    assert [r["action"] for r in trail["records"]].count("evidence.replaced") == 1
    status, claim_trail = driver.call("GET", f"/claims/{claim['claim_id']}/audit", None, driver.auth("E400"))
    assert status == 200 and "evidence.replaced" in [r["action"] for r in claim_trail["expenses"][expense_id]]
    assert driver.call("GET", f"/expenses/{expense_id}/audit", None, driver.auth("E202"))[0] == 404


def test_an_object_over_the_limit_fails_the_expense_and_is_deleted(driver):
    """Before: the claim failed but the oversized object stayed in the bucket."""
    c = bootstrap.container()
    c.settings.max_upload_bytes = 200_000
    data = receipt_png(*LUNCH) + b"\0" * 250_000
    body = _upload_form(driver, 1000)  # lied about its size; S3 would refuse the body, moto does not
    post_form(body["upload"], data, "r.png", "image/png")
    expense = driver.wait_expense("E201", body["expense_id"], {"failed", "extracted", "needs_review"})
    assert expense["status"] == "failed" and "too large" in expense["failure_reason"]

    s3 = boto3.client("s3", region_name="ap-east-1")

    def gone():  # every version, not just hidden behind a delete marker
        found = s3.list_object_versions(Bucket=c.settings.uploads_bucket, Prefix=body["key"])
        return not found.get("Versions") and not found.get("DeleteMarkers")

    wait_for(gone, seconds=15)
    [record] = wait_for(lambda: [r for r in c.expenses.history(body["expense_id"])
                                 if r.action == "evidence.deleted"])
    assert record.after["size_bytes"] == len(data) and record.after["version_id"] == expense["s3_version_id"]



def test_a_pdf_page_far_larger_than_a_receipt_fails_the_expense_with_a_reason(driver):
    expense_id = driver.upload("E201", blank_pdf(14400, 14400), "poster.pdf", "application/pdf")
    expense = driver.wait_expense("E201", expense_id, {"failed", "extracted", "needs_review"})
    assert expense["status"] == "failed"
    assert "far larger than a receipt" in expense["failure_reason"]


def test_an_absurd_ocr_total_goes_to_review_instead_of_breaking_the_claim(driver):
    def misread(data: bytes, filename: str) -> ExtractedReceipt:
        return ExtractedReceipt(vendor="Tsui Wah", date=date(2026, 11, 3), total=Decimal("1E+26"),
                                tax=None, currency="ZZZ", confidence={"total": 0.95}, needs_review=False,
                                review_reasons=[])

    bootstrap.container().__dict__["extractor"] = misread  # the container's OCR, as the Lambda uses it
    expense_id = driver.upload("E201", receipt_png(*LUNCH), "lunch.png", "image/png")
    expense = driver.wait_expense("E201", expense_id, {"failed", "extracted", "needs_review"})
    assert expense["status"] == "needs_review" and expense["total"] is None
    reasons = " ".join(expense["review_reasons"])
    assert "above 10,000,000,000" in reasons and "ZZZ" in reasons
