"""One receipt all the way: upload -> extraction (an expense) -> submitted alone (a one-expense claim) -> scoring ->
approval(s) -> ledger, on moto."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalicelib import bootstrap
from chalicelib.domain.audit import verify_chain
from tests.receipts import receipt_png


def test_small_claim_is_approved_once_and_posted(driver):
    png = receipt_png("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00"),
                                                                          ("餐蛋麵 Noodles", "52.00")])
    expense_id = driver.upload("E201", png, "lunch.png", "image/png")
    expense = driver.wait_expense("E201", expense_id, {"extracted", "needs_review", "failed"})
    assert expense["status"] in {"extracted", "needs_review"}, expense
    assert expense["total"] == {"amount": "90.00", "currency": "HKD"} or expense["status"] == "needs_review"
    assert expense["claim_id"] is None and expense["s3_key"].startswith(f"receipts/E201/{expense_id}/")
    assert [e["expense_id"] for e in driver.unattached("E201")] == [expense_id]

    status, body = driver.submit_alone("E201", expense_id, {"total": "90.00", "currency": "HKD",
                                                            "category": "meals", "vendor": "Tsui Wah Restaurant",
                                                            "receipt_date": "2026-11-03", "purpose": "client lunch"})
    assert status == 201, body
    claim_id = body["claim_id"]
    assert claim_id == "c-" + expense_id.removeprefix("e-") and body["status"] == "submitted"
    assert body["summary"]["total"] == "90.00" and body["summary"]["vendor"] == "Tsui Wah Restaurant"
    assert driver.expense("E201", expense_id)["claim_id"] == claim_id and driver.unattached("E201") == []
    assert driver.submit_alone("E201", expense_id)[1]["claim_id"] == claim_id  # a double submit: the same claim
    message = driver.approval_message(claim_id, level=1)
    assert message["approver_id"] == "E200"  # head of HK Sales
    status, body = driver.decide(message["link"], "approve", "ok")
    assert status == 200, body

    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted", final["failure_reason"]
    assert [d["level"] for d in final["decisions"]] == [1]

    c = bootstrap.container()
    entry = c.ledger.get(final["journal_id"])
    assert entry is not None
    assert sum(line.debit_hkd for line in entry.lines) == sum(line.credit_hkd for line in entry.lines)
    assert sum(line.debit_hkd for line in entry.lines) == Decimal("90.00")

    receipt_trail = [r.action for r in c.expenses.history(expense_id)]
    assert receipt_trail[0] == "expense.uploaded" and receipt_trail[1] in {"expense.extracted", "expense.needs_review"}
    records = c.audit.records(c.claims.entity(claim_id))
    actions = [r.action for r in records]
    assert actions[0] == "claim.created"
    for expected in ("claim.submitted", "claim.scored", "approval.level_1.approved", "claim.approved",
                     "claim.posted"):
        assert expected in actions
    assert verify_chain(records) == []
    approval = next(r for r in records if r.action == "approval.level_1.approved")
    assert approval.before["status"] == "in_approval" and approval.after["decisions"][0]["approver_id"] == "E200"


def test_claim_above_threshold_needs_second_signer_and_rejection_ends_it(driver):
    png = receipt_png("香港君悅酒店 Grand Hyatt Hong Kong", date(2026, 11, 10),
                      [("Client dinner 商務晚宴", "6800.00")])
    expense_id = driver.upload("E202", png, "dinner.png", "image/png")
    driver.wait_expense("E202", expense_id, {"extracted", "needs_review"})
    status, body = driver.submit_alone("E202", expense_id, {"total": "6800.00", "currency": "HKD",
                                                            "category": "entertainment", "vendor": "Grand Hyatt",
                                                            "receipt_date": "2026-11-10"})
    assert status == 201, body
    claim_id = body["claim_id"]
    first = driver.approval_message(claim_id, level=1)
    assert driver.decide_signed_in(first["link"], "approve")[0] == 200
    second = driver.approval_message(claim_id, level=2)
    assert second["approver_id"] == "E110"  # the branch's finance controller signs second
    status, body = driver.decide_signed_in(second["link"], "reject", "no pre-approval for this dinner")
    assert status == 200, body
    final = driver.wait_status("E202", claim_id, {"rejected", "failed"})
    assert final["status"] == "rejected"
    assert final["rejection_reason"] == "no pre-approval for this dinner"
    told = driver.claimant_message(claim_id, "rejected")
    assert "rejected: no pre-approval for this dinner" in told["en"] and "已被拒絕" in told["zh-Hant"]
    assert final["journal_id"] is None
    # the used link cannot be replayed
    status, body = driver.decide(second["link"], "approve")
    assert status == 410 and "already been used" in body["error"]


def test_employee_corrections_become_labelled_data(driver):
    import json

    import boto3

    png = receipt_png("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00")])
    expense_id = driver.upload("E201", png, "tea.png", "image/png")
    extracted = driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    status, _ = driver.submit_alone("E201", expense_id, {"total": "40.00", "vendor": "翠華餐廳", "category": "meals"})
    assert status == 201
    s3 = boto3.client("s3", region_name="ap-east-1")
    bucket = bootstrap.container().settings.uploads_bucket
    label = json.loads(s3.get_object(Bucket=bucket, Key=f"labelled/{expense_id}.json")["Body"].read())
    assert label["total"] == "40.00" and label["vendor"] == "翠華餐廳" and label["date"] == "2026-11-03"
    assert "total" in label["corrected"] and extracted["total"]["amount"] != "40.00"
    assert s3.get_object(Bucket=bucket, Key=f"labelled/{expense_id}.png")["Body"].read() == png


def test_corrections_to_an_unattached_receipt_become_labelled_data_too(driver):
    import json

    import boto3

    png = receipt_png("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00")])
    expense_id = driver.upload("E201", png, "tea.png", "image/png")
    driver.wait_expense("E201", expense_id, {"extracted", "needs_review"})
    status, body = driver.edit_expense("E201", expense_id, {"total": "41.00", "vendor": "翠華"})
    assert status == 200 and body["total"]["amount"] == "41.00" and body["claim_id"] is None, body
    s3 = boto3.client("s3", region_name="ap-east-1")
    bucket = bootstrap.container().settings.uploads_bucket
    label = json.loads(s3.get_object(Bucket=bucket, Key=f"labelled/{expense_id}.json")["Body"].read())
    assert label["total"] == "41.00" and label["vendor"] == "翠華"
