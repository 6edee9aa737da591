"""What the approval page and the inbox read from the server besides the signed approver view: people by name
and department (never their ids or personal data), each receipt's image (the claim's own only), what the
employee changed over what was read, a duplicate's other claim in words, and a decision's outcome for the
sentence the page shows; a rejection or a return needs a reason."""

from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import parse_qs, urlparse, urlsplit

import requests

from tests.receipts import LUNCH, SUBMIT, receipt_png


def _submitted(driver, employee, png, **edits):
    expense_id = driver.upload(employee, png, "receipt.png", "image/png")
    driver.wait_expense(employee, expense_id, {"extracted", "needs_review"})
    status, body = driver.submit_alone(employee, expense_id, {**SUBMIT, **edits})
    assert status == 201, body
    return body["claim_id"], expense_id


def _page(driver, link, accept="application/json", lang="en"):
    """The link's page as JSON, or as HTML (its text) in `lang`."""
    status, body = driver.call("GET", urlparse(link).path, None, {"Accept": accept, "Cookie": f"lang={lang}"})
    return status, body["raw"] if "html" in accept else body


def test_the_page_names_people_shows_the_claims_own_receipts_and_what_was_corrected(driver):
    png = receipt_png(*LUNCH)
    claim_id, expense_id = _submitted(driver, "E201", png, total="98.00")  # extraction read 90.00
    other_png = receipt_png("太興 Tai Hing", date(2026, 11, 4), [("燒味飯 Roast Rice", "68.00")])
    _, other_expense = _submitted(driver, "E202", other_png, total="68.00", vendor="Tai Hing",
                                  receipt_date="2026-11-04")
    link = driver.approval_message(claim_id, level=1)["link"]

    status, page = _page(driver, link)
    assert status == 200, page
    assert page["claimant"] == {"name": "黃小明 Wong Siu Ming", "department": "Sales 銷售部"}
    assert page["approver"]["name"] == "李嘉欣 Lee Ka Yan" and page["zone"] == "Asia/Hong_Kong"
    text = json.dumps(page, ensure_ascii=False)
    for personal in ("+852", "@example.com", "phone", "email"):
        assert personal not in text
    (expense,) = page["expenses"]
    assert {"field": "total", "read": "90.00", "entered": "98.00",
            "currency": {"read": "HKD", "entered": "HKD"}} in expense["corrections"]
    url = expense["receipt_url"]
    assert expense_id in url and int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0]) <= 600
    assert requests.get(url, timeout=30).content == png  # the presigned GET serves the receipt read
    assert other_expense not in text  # only this link's claim's receipts
    assert [h["event"] for h in page["history"]] == ["submitted"]
    assert page["history"][0]["by"]["name"] == "黃小明 Wong Siu Ming" and page["next"] is None

    status, html = _page(driver, link, accept="text/html")
    assert status == 200
    assert "黃小明 Wong Siu Ming" in html and "Sales 銷售部" in html and "HK$98.00" in html
    assert "<del>HK$90.00</del>" in html and "<ins>HK$98.00</ins>" in html
    assert f'src="{url}'[:60] in html.replace("&amp;", "&")
    seen = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)  # what a person reads
    assert "E201" not in seen and "E200" not in seen and claim_id not in seen and "in_approval" not in seen
    status, html = _page(driver, link, accept="text/html", lang="zh-Hant")
    assert "申請人" in html and "識別為" in html


def test_reject_and_return_need_a_reason_and_the_link_stays_usable(driver):
    claim_id, _ = _submitted(driver, "E201", receipt_png(*LUNCH))
    link = driver.approval_message(claim_id, level=1)["link"]
    for decision, comment in (("reject", ""), ("reject", "   "), ("return", "")):
        status, body = driver.decide(link, decision, comment)
        assert status == 400 and "needs a comment" in json.dumps(body), body
    body = {"claims": [claim_id], "decision": "reject"}
    assert driver.call("POST", "/me/approvals/decisions", body, driver.auth("E200"))[0] == 400
    status, outcome = driver.decide(link, "approve")
    assert status == 200, outcome
    assert outcome["decision"] == "approved" and outcome["title"] and outcome["payable"] == {"HKD": "90.00"}
    assert outcome["next"] is None and outcome["claimant"]["name"] == "黃小明 Wong Siu Ming"


def test_a_duplicate_names_the_other_claim_in_words(driver):
    png = receipt_png(*LUNCH)
    first, _ = _submitted(driver, "E201", png, purpose="client lunch")
    driver.approval_message(first, level=1)
    status, earlier = driver.call("GET", f"/claims/{first}", None, driver.auth("E201"))
    assert status == 200
    again, _ = _submitted(driver, "E201", png, purpose="claimed twice")
    link = driver.approval_message(again, level=1)["link"]

    status, page = _page(driver, link)
    assert status == 200, page
    (risk,) = [r for r in page["expenses"][0]["risks"] if r["code"] == "duplicate_file"]
    (place,) = risk["where"]
    assert place["own"] and place["title"] == earlier["title"] or place["title"]
    assert place["status"] == "in_approval" and "claim_id" not in place
    status, html = _page(driver, link, accept="text/html")
    assert "The same receipt file is in their claim “" in html and "(Awaiting approval)" in html
    assert first not in html


def test_the_inbox_rows_name_the_claimant_and_open_the_approval_page(driver):
    claim_id, _ = _submitted(driver, "E201", receipt_png(*LUNCH))
    driver.approval_message(claim_id, level=1)
    status, body = driver.call("GET", "/me/approvals", None, driver.auth("E200"))
    assert status == 200, body
    (row,) = [r for r in body["approvals"] if r["claim_id"] == claim_id]
    assert row["claimant"] == {"name": "黃小明 Wong Siu Ming", "department": "Sales 銷售部"}
    assert row["path"].startswith("approvals/") and row["waiting_since"] and row["for"] is None
    status, html = driver.call("GET", "/" + row["path"], None, {"Accept": "text/html"})
    assert status == 200 and "黃小明 Wong Siu Ming" in html["raw"]
    status, html = driver.call("GET", "/inbox", None, {"Accept": "text/html", "Cookie": "lang=en"})
    assert status == 200 and "Waiting for your approval" in html["raw"]
