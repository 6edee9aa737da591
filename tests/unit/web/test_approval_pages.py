"""The approval page as rendered from a link's summary: words in the reader's language, receipts beside their
fields, corrections, warnings and limits in words, no ids or raw status words, and claim content escaped."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from chalicelib.web import approval_pages, pages

PERSON = {"name": "黃小明 Wong Siu Ming", "department": "Sales 銷售部"}
REPORT = {
    "claim_id": "c-9f00", "employee_id": "E201", "department_id": "HK-SALES", "approver_id": "E200",
    "title": "Macau trip 澳門", "purpose": "client visit", "period": ["2026-11-17", "2026-11-18"],
    "totals": {"HKD": "227.00", "MOP": "1920.00"}, "hkd_equivalents": {"MOP": "1862.40"}, "hkd_total": "2089.40",
    "level": 1, "steps": 2, "status": "in_approval", "sign_in_required": False, "zone": "Asia/Hong_Kong",
    "claimant": PERSON, "approver": {"name": "李嘉欣 Lee Ka Yan", "department": "Sales 銷售部"}, "for": None,
    "next": {"name": "王芳 Wang Fang", "department": "Group Finance 集團財務"},
    "waiting_since": "2026-11-20T06:02:00+00:00",
    "history": [{"event": "submitted", "at": "2026-11-20T06:00:00+00:00", "by": PERSON}],
    "limits": {"categories": [{"category": "travel", "limit_hkd": "30000"}],
               "rules": [{"require": "line_manager", "categories": None, "amount_hkd_over": None,
                          "per_head_hkd_over": None, "risk_at_least": None},
                         {"require": "department_head", "categories": ["meals"], "amount_hkd_over": None,
                          "per_head_hkd_over": "800", "risk_at_least": None}],
               "link_only_max_hkd": "5000"},
    "expenses": [
        {"expense_id": "e-1", "vendor": "MGM <Macau>", "kind": "receipt", "date": "2026-11-17", "total": "1920.00",
         "currency": "MOP", "category": "travel", "description": "", "payable": "1680.00", "total_hkd": "1862.40",
         "receipt_url": "http://uploads.example/e-1.png?X-Amz-Signature=abc",
         "corrections": [{"field": "total", "read": "1290.00", "entered": "1920.00",
                          "currency": {"read": "MOP", "entered": "MOP"}}],
         "risks": [{"code": "duplicate_file", "where": [{"this_claim": False, "title": "Macau again",
                                                         "created_at": "2026-11-10T02:00:00+00:00",
                                                         "status": "posted", "own": True}]},
                   {"code": "over_limit", "amount": "900", "limit": "800", "heads": 3, "category": "meals"}],
         "line_items": [{"line": 0, "description": "Room", "amount": "1680.00", "disallowed_reason": None},
                        {"line": 1, "description": "<i>Minibar</i>", "amount": "240.00",
                         "disallowed_reason": "personal"}]},
        {"expense_id": "e-2", "kind": "mileage", "date": "2026-11-18", "total": "147.00", "currency": "HKD",
         "category": "travel", "payable": "147.00", "risks": [], "line_items": [], "corrections": [],
         "rate_parts": {"quantity": "42", "unit": "km", "rate": "3.50", "currency": "HKD", "source": "policy 2026"}},
        {"expense_id": "e-3", "vendor": "Taxi", "kind": "lost_receipt", "date": "2026-11-18", "total": "80.00",
         "currency": "HKD", "category": "taxi", "lost_receipt_reason": "driver had no printer", "payable": "80.00",
         "risks": [{"code": "no_receipt"}], "line_items": [], "corrections": []}]}


def _request(lang: str):
    return SimpleNamespace(headers={"cookie": f"lang={lang}"})


def test_the_page_reads_in_words_without_ids_or_status_words():
    html = approval_pages.approval(REPORT, _request("en"))
    assert "黃小明 Wong Siu Ming" in html and "Sales 銷售部" in html  # the claimant by name and department
    for raw in ("E201", "E200", "HK-SALES", "c-9f00", "in_approval", ">posted<", "lost_receipt<"):
        assert raw not in re.sub(r'data-[\w-]+="[^"]*"|<script type="application/json".*?</script>', "", html,
                                 flags=re.S), raw
    assert "MOP1,920.00" in html and "HK$1,862.40" in html and "HK$227.00" in html  # per currency, with HKD
    assert "Read:" in html and "<del>MOP1,290.00</del>" in html and "<ins>MOP1,920.00</ins>" in html
    assert "The same receipt file is in their claim “Macau again” of 10 Nov 2026 (Paid)." in html
    assert "HK$900.00 a head (3 people) is above the Meals limit of HK$800.00." in html
    assert "No receipt: the amount was entered by hand." in html
    assert "Meals above HK$800.00 a head: the department head approves." in html
    assert "Every claim: the line manager approves." in html
    assert "42 km at HK$3.50 each" in html
    assert "Submitted by 黃小明 Wong Siu Ming" in html and "20 Nov 2026, 14:00 HKT" in html  # in the viewer's zone
    assert "Next: 王芳 Wang Fang" in html
    assert 'src="http://uploads.example/e-1.png?X-Amz-Signature=abc"' in html


def test_the_page_reads_in_traditional_chinese():
    html = approval_pages.approval(REPORT, _request("zh-Hant"))
    assert "申請人" in html and "現時應付" in html and "員工曾修改" in html and "已入賬" in html
    assert "Approve" not in html


def test_each_open_line_and_expense_can_be_disallowed_and_payable_starts_from_the_cuts():
    html = approval_pages.approval(REPORT, _request("en"))
    assert re.findall(r'class="disallow" data-line="(\d+)" data-expense="([\w-]+)"', html) == [("0", "e-1")]
    assert re.findall(r'class="disallow-expense" data-expense="([\w-]+)"', html) == ["e-1", "e-2", "e-3"]
    assert "Disallowed: personal" in html and "&lt;i&gt;Minibar&lt;/i&gt;" in html and "<i>Minibar" not in html
    assert re.search(r'id="payable"[^>]*>HK\$227.00 \+ MOP1,680.00<', html)


def test_reject_and_return_look_different_from_approve_and_confirm_in_a_dialog():
    html = approval_pages.approval(REPORT, _request("en"))
    assert '<button type="button" class="approve" data-d="approve">Approve</button>' in html
    assert 'class="warning" data-d="reject"' in html and 'class="secondary" data-d="return"' in html
    assert '<dialog id="confirm"' in html and '<dialog id="zoom"' in html
    assert re.findall(r'name="fix" value="([\w-]+)"', html) == ["e-1", "e-2", "e-3"]


def test_a_step_up_claim_says_who_must_sign_in():
    html = approval_pages.approval({**REPORT, "sign_in_required": True}, _request("en"))
    assert 'id="step-up"' in html and "decide it signed in as 李嘉欣 Lee Ka Yan" in html
    assert 'id="step-up"' not in approval_pages.approval(REPORT, _request("en"))
    script = pages.static_asset("approval.js")[0]
    assert "signIn()" in script and "dev/token" not in script


def test_the_data_block_is_json_that_cannot_close_the_script():
    html = approval_pages.approval({**REPORT, "title": "</script><script>alert(1)</script> & co"}, _request("en"))
    block = re.search(r'<script type="application/json" id="approval-data">(.*?)</script>', html, flags=re.S)
    assert json.loads(block.group(1))["title"] == "</script><script>alert(1)</script> & co"
    assert "<script>alert(1)" not in html.replace(block.group(0), "")


@pytest.mark.parametrize(("reason", "words"), [
    ("this approval link has already been used", "already been decided"),
    ("this approval link has expired; a reminder with a fresh link will follow", "has expired"),
    ("the claim changed after this link was sent; use the newest link", "changed after"),
    ("<b>something else</b>", "This link cannot be used."),
])
def test_a_refused_link_says_why_in_words(reason, words):
    html = approval_pages.refused(reason, _request("en"))
    assert words in html and "<b>" not in html


def test_the_newer_rules_show_as_their_kind_in_either_language():
    place = [{"this_claim": False, "title": "Lunch", "created_at": "2026-11-10T02:00:00+00:00", "status": "posted",
              "own": True}]
    risks = [{"code": "duplicate_rephotographed", "where": place},
             {"code": "duplicate_receipt_no", "number": "34037427", "where": place},
             {"code": "duplicate_respelled", "vendor": "譚仔 <TamJai>", "where": place},
             {"code": "night_taxi", "en": "HK$320 taxi at 03:10 …", "zh-Hant": "深夜 HK$320 …"}]
    report = {**REPORT, "expenses": [{**REPORT["expenses"][0], "risks": risks}]}
    html = approval_pages.approval(report, _request("en"))
    assert "A photo of the same paper receipt, taken again, is in their claim “Lunch” of 10 Nov 2026 (Paid)." in html
    assert "Receipt number 34037427 of this vendor was already claimed in their claim “Lunch”" in html
    assert "the vendor written there as “譚仔 &lt;TamJai&gt;”." in html
    assert "<strong>Night taxi</strong>: HK$320 taxi at 03:10 …" in html
    zh = approval_pages.approval(report, _request("zh-Hant"))
    assert "同一張收據的另一張相片亦見於" in zh and "<strong>深夜的士</strong>: 深夜 HK$320 …" in zh
