"""Claims as reports of expenses (報銷單), on the local stack: receipts uploaded or e-mailed become expenses, a claim
is built from them and from mileage and per-diem lines, routed on its HKD total, partly approved expense by
expense and posted one journal line per payable expense. Claims stored under the one-receipt model still work."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from email.message import EmailMessage

import boto3

from chalicelib import bootstrap
from chalicelib.adapters.intake_uploads import UploadsBucketStarter
from chalicelib.domain.money import Money
from chalicelib.services.email_intake import process_raw_email
from harness import lambda_shim
from harness.driver import wait_for
from tests.receipts import LUNCH, SUBMIT, receipt_png

TRIP = "Shenzhen client visit 深圳客戶拜訪"
HOTEL = ("香港麗思卡爾頓酒店 Ritz-Carlton Hong Kong", date(2026, 11, 19), [("客房 Room", "980.00")])
SZ_HOTEL = ("深圳灣萬豪酒店 Shenzhen Bay Marriott", date(2026, 11, 20), [("客房 Room", "1080.00")])
MILEAGE = {"kind": "mileage", "vehicle": "private_car", "distance_km": "42", "date": "2026-11-20",
           "description": "office -> Lok Ma Chau control point 落馬洲"}
PER_DIEM = {"kind": "per_diem", "destination": "CN-SZ", "days": "2", "date": "2026-11-20",
            "meals_provided": {"breakfast": 2}, "description": "two days in Shenzhen"}


def read_receipt(driver, employee: str, receipt: tuple, currency: str, category: str = "travel",
                 claim_id: str | None = None) -> str:
    """Upload a receipt, wait for it to be read, and confirm what it says (as the employee does on the phone):
    the test does not depend on how well the OCR read the generated image."""
    vendor, when, items = receipt
    expense_id = driver.upload(employee, receipt_png(vendor, when, items, currency), "receipt.png", "image/png",
                               claim_id=claim_id)
    driver.wait_expense(employee, expense_id, {"extracted", "needs_review"})
    total = str(sum((Decimal(price) for _, price in items), Decimal("0")))
    status, body = driver.edit_expense(employee, expense_id, {
        "vendor": vendor, "receipt_date": when.isoformat(), "total": total, "currency": currency,
        "category": category})
    assert status == 200, body
    assert body["total"] == {"amount": f"{Decimal(total):.2f}", "currency": currency}, body["total"]
    return expense_id


def test_a_trip_report_in_two_currencies_is_routed_on_its_hkd_total_partly_approved_and_posted(driver):
    c = bootstrap.container()
    # E201's line manager is E300 for this test, so the department head (E200) is a separate, visible step
    c.directory.put_employee(c.directory.employee("E201").model_copy(update={"manager_id": "E300"}))
    fx = c.directory.policy().fx

    hkd = read_receipt(driver, "E201", HOTEL, "HKD")
    cny = read_receipt(driver, "E201", SZ_HOTEL, "CNY")
    status, claim = driver.create_claim("E201", TRIP, [hkd, cny], purpose="meet ABC Trading in Nanshan",
                                        period_start="2026-11-19", period_end="2026-11-21")
    assert status == 201, claim
    claim_id = claim["claim_id"]
    assert claim["status"] == "draft" and [e["expense_id"] for e in claim["expenses"]] == [hkd, cny]
    assert claim["cost_centre"] == "CC-2100"  # the department's
    status, claim = driver.add_line("E201", claim_id, MILEAGE)
    assert status == 201, claim
    mileage = claim["expenses"][-1]
    assert mileage["kind"] == "mileage" and mileage["total"] == {"amount": "147.00", "currency": "HKD"}  # 42 x 3.50
    status, claim = driver.add_line("E201", claim_id, PER_DIEM)
    assert status == 201, claim
    per_diem = claim["expenses"][-1]
    assert per_diem["kind"] == "per_diem" and per_diem["total"]["currency"] == "CNY"
    assert Decimal(per_diem["total"]["amount"]) < Decimal("700")  # 2 x CNY 350, less the breakfasts provided
    assert driver.unattached("E201") == []  # both receipts are in the claim now

    status, submitted = driver.submit_claim("E201", claim_id)
    assert status == 200, submitted
    assert submitted["status"] == "submitted" and submitted["submission_count"] == 1
    # routed on the HKD total: each receipt is small, together they are above HK$2,000
    each = [fx.to_hkd(Money.of(price, currency)).amount for price, currency in (("980.00", "HKD"),
                                                                                  ("1080.00", "CNY"))]
    assert all(amount < Decimal("2000") for amount in each) and sum(each) > Decimal("2000")
    expected_hkd = sum((fx.to_hkd(Money.of(e["total"]["amount"], e["total"]["currency"])).amount
                        for e in submitted["expenses"]), Decimal("0"))
    assert Decimal(submitted["valuation"]["hkd_total"]["amount"]) == expected_hkd
    assert submitted["valuation"]["rates"] == {"CNY": str(fx.hkd_per_unit["CNY"])}
    assert submitted["summary"]["totals"]["HKD"] == "1127.00"  # 980 + 147 mileage
    assert expected_hkd < Decimal("5000")  # no second signer

    level1 = driver.approval_message(claim_id, level=1)
    assert (level1["role"], level1["approver_id"]) == ("line_manager", "E300")
    assert [e["expense_id"] for e in level1["claim"]["expenses"]] == [hkd, cny, mileage["expense_id"],
                                                                       per_diem["expense_id"]]
    cut = [{"expense_id": mileage["expense_id"], "reason": "the company car was free 公司車可用"}]
    status, body = driver.decide_signed_in(level1["link"], "approve", "ok except the mileage", disallow=cut)
    assert status == 200, body
    level2 = driver.approval_message(claim_id, level=2)
    assert (level2["role"], level2["approver_id"]) == ("department_head", "E200")
    status, body = driver.decide_signed_in(level2["link"], "approve", "ok")
    assert status == 200, body

    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted", final["failure_reason"]
    assert [d["approver_id"] for d in final["decisions"]] == ["E300", "E200"]
    assert final["decisions"][0]["disallowed_items"] == [mileage["expense_id"]]
    by_id = {e["expense_id"]: e for e in final["expenses"]}
    assert by_id[mileage["expense_id"]]["disallowed_by"] == "E300"
    payable = [e for e in final["expenses"] if not e["disallowed_reason"]]
    assert [e["expense_id"] for e in payable] == [hkd, cny, per_diem["expense_id"]]

    entry = c.ledger.get(final["journal_id"])
    debits = [line for line in entry.lines if line.debit_hkd > 0]
    credits = [line for line in entry.lines if line.credit_hkd > 0]
    assert len(debits) == len(payable) == 3  # one debit per payable expense; none for the cut mileage
    assert [(line.original_amount, line.original_currency) for line in debits] == [
        (Decimal(e["total"]["amount"]), e["total"]["currency"]) for e in payable]
    assert [line.debit_hkd for line in debits] == [
        fx.to_hkd(Money.of(e["total"]["amount"], e["total"]["currency"])).amount for e in payable]
    [employee] = credits
    assert employee.credit_hkd == sum((line.debit_hkd for line in debits), Decimal("0"))
    assert employee.credit_hkd == expected_hkd - Decimal("147.00")
    told = driver.claimant_message(claim_id, "posted")
    assert "Not reimbursed: Mileage 里程 42 km 147.00 (the company car was free" in told["en"]
    status, signatures = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
    assert status == 200 and [s["valid"] for s in signatures["signatures"]] == [True, True], signatures


def test_an_expense_cannot_be_in_two_claims(driver):
    lunch = read_receipt(driver, "E201", LUNCH, "HKD", category="meals")
    status, first = driver.create_claim("E201", "November lunches", [lunch])
    assert status == 201, first
    status, second = driver.create_claim("E201", "December lunches")
    assert status == 201 and second["expenses"] == [], second

    status, body = driver.add_expenses("E201", second["claim_id"], [lunch])
    assert status == 400 and f"already in claim {first['claim_id']}" in body["error"], body
    status, body = driver.create_claim("E201", "another report", [lunch])
    assert status == 400 and "already in claim" in body["error"], body
    status, body = driver.submit_alone("E201", lunch, SUBMIT)
    assert status == 400 and "already in claim" in body["error"], body

    assert driver.claim("E201", first["claim_id"]) == first  # nothing changed anywhere
    assert driver.claim("E201", second["claim_id"]) == second
    assert driver.expense("E201", lunch)["claim_id"] == first["claim_id"]
    claims = driver.call("GET", "/claims", None, driver.auth("E201"))[1]["claims"]
    assert sorted(x["claim_id"] for x in claims) == sorted([first["claim_id"], second["claim_id"]])
    # another employee cannot attach it either: to them it does not exist
    status, theirs = driver.create_claim("E202", "not mine")
    assert status == 201
    assert driver.add_expenses("E202", theirs["claim_id"], [lunch])[0] == 404


def test_a_receipt_removed_from_a_draft_is_unattached_again(driver):
    lunch = read_receipt(driver, "E201", LUNCH, "HKD", category="meals")
    status, claim = driver.create_claim("E201", TRIP, [lunch])
    assert status == 201, claim
    claim_id = claim["claim_id"]
    status, claim = driver.add_line("E201", claim_id, MILEAGE)
    assert status == 201, claim
    mileage_id = claim["expenses"][-1]["expense_id"]
    assert driver.unattached("E201") == []

    status, claim = driver.remove_expense("E201", claim_id, lunch)
    assert status == 200, claim
    assert [e["expense_id"] for e in claim["expenses"]] == [mileage_id]
    listed = driver.unattached("E201")
    assert [e["expense_id"] for e in listed] == [lunch] and listed[0]["claim_id"] is None
    assert listed[0]["vendor"] == LUNCH[0] and listed[0]["total"] == {"amount": "90.00", "currency": "HKD"}
    assert driver.expense("E201", lunch)["claim_id"] is None
    # a line without a receipt is simply gone when removed
    status, claim = driver.remove_expense("E201", claim_id, mileage_id)
    assert status == 200 and claim["expenses"] == [], claim
    assert [e["expense_id"] for e in driver.unattached("E201")] == [lunch]
    assert driver.call("GET", f"/expenses/{mileage_id}", None, driver.auth("E201"))[0] == 404
    # the freed receipt can go into another claim, or be submitted on its own
    status, body = driver.submit_alone("E201", lunch, SUBMIT)
    assert status == 201 and body["status"] == "submitted", body
    assert driver.expense("E201", lunch)["claim_id"] == body["claim_id"] != claim_id
    assert driver.approval_message(body["claim_id"], level=1)["approver_id"] == "E200"
    # a claim in approval is no longer a draft: nothing can be taken out of it
    assert driver.remove_expense("E201", body["claim_id"], lunch)[0] == 400


def _email(subject: str, receipt: tuple, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "黃小明 Wong Siu Ming <SM.Wong@example.com>"
    msg["To"] = "receipts@expense.example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content("Receipt attached.")
    msg.add_attachment(receipt_png(*receipt), maintype="image", subtype="png", filename="收據.png")
    return bytes(msg)


def test_an_emailed_receipt_joins_the_draft_claim_its_subject_names(driver, stack):
    c = bootstrap.container()
    status, trip = driver.create_claim("E201", TRIP)
    assert status == 201, trip
    status, other = driver.create_claim("E201", "Macau trade fair 澳門展覽")
    assert status == 201, other
    raw = _email(f"Fwd: 酒店收據 hotel receipt - {TRIP}", SZ_HOTEL, "<report-intake-1@mail.example.com>")

    result = process_raw_email("inbound/report-intake-1", raw, c.directory, UploadsBucketStarter(c.uploads),
                               c.audit)
    assert result.status == "accepted" and result.employee_id == "E201", result
    [expense_id] = result.expense_ids

    def joined():
        held = driver.claim("E201", trip["claim_id"])["expenses"]
        return [e for e in held if e["expense_id"] == expense_id]

    [expense] = wait_for(joined)
    assert expense["s3_key"].startswith(f"receipts/E201/{expense_id}/") and expense["status"] in {
        "extracted", "needs_review"}
    assert driver.expense("E201", expense_id)["claim_id"] == trip["claim_id"]
    assert driver.claim("E201", other["claim_id"])["expenses"] == []  # only the claim the subject names
    assert driver.unattached("E201") == []
    actions = [r.action for r in c.claims.history(trip["claim_id"])]
    assert "claim.expense_added" in actions

    # a subject naming no draft claim: the receipt waits unattached, and its trail says why
    raw = _email("Fwd: taxi receipt", LUNCH, "<report-intake-2@mail.example.com>")
    result = process_raw_email("inbound/report-intake-2", raw, c.directory, UploadsBucketStarter(c.uploads),
                               c.audit)
    [loose] = result.expense_ids
    driver.wait_expense("E201", loose, {"extracted", "needs_review"})
    notes = wait_for(lambda: [r for r in c.expenses.history(loose) if r.action == "expense.not_attached"])
    assert "no draft claim" in notes[0].after["reason"]
    assert [e["expense_id"] for e in driver.unattached("E201")] == [loose]


def test_a_one_receipt_claim_stored_before_reports_reads_as_a_one_expense_draft_and_can_be_submitted(driver):
    """An item written as the one-receipt model wrote it (the receipt's fields on the claim, status
    `extracted`, no `expenses`): read as a draft claim of that one receipt, submitted, approved and posted."""
    c = bootstrap.container()
    claim_id = "c-" + "5" * 32
    png = receipt_png(*LUNCH)
    key = f"receipts/E201/{claim_id}/lunch.png"

    old = {
        "claim_id": claim_id, "employee_id": "E201", "department_id": "HK-SALES", "cost_centre": "CC-2100",
        "status": "extracted", "version": 2, "created_at": "2026-11-03T02:00:00Z",
        "updated_at": "2026-11-03T02:00:05Z", "s3_key": key, "s3_version_id": None,
        "file_sha256": hashlib.sha256(png).hexdigest(), "content_type": "image/png", "file_size": len(png),
        "vendor": "翠華餐廳 Tsui Wah Restaurant", "receipt_date": "2026-11-03",
        "total": {"amount": "90.00", "currency": "HKD"}, "tax": None,
        "line_items": [{"description": "奶茶 Milk Tea", "amount": {"amount": "38.00", "currency": "HKD"}},
                       {"description": "餐蛋麵 Noodles", "amount": {"amount": "52.00", "currency": "HKD"}}],
        "confidence": {"total": 0.99}, "review_reasons": [], "category": "meals", "purpose": "",
        "decisions": [], "submission_count": 0,
    }
    boto3.client("dynamodb", region_name="ap-east-1").put_item(TableName=c.settings.claims_table, Item={
        "claim_id": {"S": claim_id}, "department_id": {"S": "HK-SALES"}, "employee_id": {"S": "E201"},
        "created_at": {"S": "2026-11-03T02:00:00+00:00"}, "file_sha256": {"S": old["file_sha256"]},
        "status": {"S": "extracted"}, "version": {"N": "2"}, "body": {"S": json.dumps(old, ensure_ascii=False)}})
    # its receipt file; the object's event (as if delivered again) finds the claim's receipt: no second expense
    boto3.client("s3", region_name="ap-east-1").put_object(Bucket=c.settings.uploads_bucket, Key=key, Body=png,
                                                           ContentType="image/png")
    assert lambda_shim.drain()
    assert driver.unattached("E201") == [] and c.expenses.get(claim_id) is None

    claim = driver.claim("E201", claim_id)
    assert claim["status"] == "draft" and claim["layout"] == "receipt"
    [receipt] = claim["expenses"]
    assert (receipt["expense_id"], receipt["status"], receipt["s3_key"]) == (claim_id, "extracted", key)
    assert receipt["vendor"] == "翠華餐廳 Tsui Wah Restaurant" and receipt["total"]["amount"] == "90.00"
    assert [li["amount"]["amount"] for li in receipt["line_items"]] == ["38.00", "52.00"]
    assert claim["summary"]["vendor"] == "翠華餐廳 Tsui Wah Restaurant" and claim["summary"]["total"] == "90.00"
    assert claim_id in [x["claim_id"] for x in driver.call("GET", "/claims", None, driver.auth("E201"))[1]["claims"]]

    status, body = driver.submit("E201", claim_id, {"purpose": "client lunch"})
    assert status == 200, body
    assert body["status"] == "submitted" and body["layout"] == "receipt" and body["submission_count"] == 1
    assert driver.expense("E201", claim_id)["claim_id"] == claim_id  # indexed as an expense on its first write
    message = driver.approval_message(claim_id, level=1)
    assert message["approver_id"] == "E200" and message["claim"]["vendor"] == "翠華餐廳 Tsui Wah Restaurant"
    status, body = driver.decide(message["link"], "approve", "ok", disallow=[{"line": 0, "reason": "drinks"}])
    assert status == 200, body
    final = driver.wait_status("E201", claim_id, {"posted", "failed"})
    assert final["status"] == "posted", final["failure_reason"]
    assert final["decisions"][0]["disallowed_items"] == [f"{claim_id}#0"]  # the receipt's expense id is the claim's
    assert final["expenses"][0]["line_items"][0]["disallowed_reason"] == "drinks"
    entry = c.ledger.get(final["journal_id"])
    assert [line.debit_hkd + line.credit_hkd for line in entry.lines] == [Decimal("52.00"), Decimal("52.00")]
    status, signatures = driver.call("GET", f"/claims/{claim_id}/signatures", None, driver.auth("E400"))
    assert status == 200 and [s["valid"] for s in signatures["signatures"]] == [True], signatures
