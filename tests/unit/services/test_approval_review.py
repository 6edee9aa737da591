"""What the approval page reads besides the signed view, on fakes: risk reasons as data (fed the anomaly rules'
own wording, so a change there fails here), corrections over what was read, people by name, images of the
link's own claim only, limits, history, the next approver; and a rejection or return needs a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.domain import anomaly
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import ExpenseKind
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy
from chalicelib.services.approvals import decisions, review
from tests.builders import receipt
from tests.fakes import bootstrap_fakes

CLAIM = Claim(claim_id="c-this", employee_id="E201", department_id="HK-SALES", title="Lunch",
              expenses=[receipt("e-1", attendees=None, category="meals")])


def _reasons(expense, same_file=(), same_content=()):
    return [f.reason for f in anomaly.assess_expense(expense, CLAIM, Policy(), list(same_file), list(same_content))]


def test_the_anomaly_rules_reasons_read_back_as_data():
    mine = anomaly.Sighting("e-9", "c-mine", "E201")
    theirs = anomaly.Sighting("e-8", "c-theirs", "E202")
    here = anomaly.Sighting("e-2", "c-this", "E201")
    (dup,) = _reasons(receipt("e-1"), same_file=[mine, theirs, here])
    assert review.parse_reason(dup) == {"code": "duplicate_file", "where": [
        {"this_claim": False, "claim_id": "c-mine", "colleague_id": None},
        {"this_claim": False, "claim_id": "c-theirs", "colleague_id": "E202"},
        {"this_claim": True, "claim_id": None, "colleague_id": None}]}
    (same,) = _reasons(receipt("e-1"), same_content=[mine])
    assert review.parse_reason(same)["code"] == "duplicate_content"

    dinner = receipt("e-1", category="meals", total=Money.of("6000.00", "HKD"), attendees=3)
    (over,) = _reasons(dinner)
    assert review.parse_reason(over) == {"code": "over_limit", "amount": "2000.00", "limit": "1500",
                                         "heads": 3, "category": "meals"}
    (alone,) = _reasons(receipt("e-1", category="taxi", total=Money.of("1234.50", "HKD")))
    assert review.parse_reason(alone) == {"code": "over_limit", "amount": "1234.50", "limit": "800", "heads": 1,
                                          "category": "taxi"}
    (lost,) = _reasons(receipt("e-1", kind=ExpenseKind.LOST_RECEIPT, s3_key=None, lost_receipt_reason="lost"))
    assert review.parse_reason(lost) == {"code": "no_receipt"}
    (doubt,) = _reasons(receipt("e-1", status="needs_review", review_reasons=["total unclear"]))
    assert review.parse_reason(doubt) == {"code": "needs_review"}
    assert review.parse_reason("something new / 新的") == {"code": "other", "en": "something new",
                                                           "zh-Hant": "新的"}


def test_corrections_compare_what_was_read_with_what_was_entered():
    read = receipt("e-1", vendor="翠華餐廳 Tsui Wah Restaurant")
    entered = read.model_copy(update={"vendor": "Tsui Wah", "total": Money.of("98.00", "HKD")})
    assert review.corrections(read, entered) == [
        {"field": "vendor", "read": "翠華餐廳 Tsui Wah Restaurant", "entered": "Tsui Wah", "currency": None},
        {"field": "total", "read": "90.00", "entered": "98.00", "currency": {"read": "HKD", "entered": "HKD"}}]
    assert review.corrections(None, entered) == [] and review.corrections(read, read) == []


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_a_rejection_or_a_return_needs_a_reason(decision):
    for comment in ("", "   "):
        with pytest.raises(ValidationError, match="needs a comment"):
            decisions.DecisionRequest(decision=decision, comment=comment)
        with pytest.raises(ValidationError, match="needs a comment"):
            decisions.BatchDecision(claims=["c-1"], decision=decision, comment=comment)
    assert decisions.DecisionRequest(decision=decision, comment="wrong total").comment == "wrong total"
    assert decisions.DecisionRequest(decision="approve").comment == ""


class Images:
    def view_url(self, key, version_id, seconds):
        return f"https://uploads.example/{key}?v={version_id}&s={seconds}"


def test_the_page_names_people_and_shows_the_claims_own_images_limits_and_history():
    app = bootstrap_fakes()
    expense = receipt("e-1", employee_id="E201", s3_version_id="v1", category="meals", attendees=2,
                      total=Money.of("1900.00", "HKD"))
    other = receipt("e-2", employee_id="E202", s3_version_id="v2", receipt_date=date(2026, 11, 4))
    claim = Claim(claim_id="c-1", employee_id="E201", department_id="HK-SALES", title="Client dinner",
                  status=ClaimStatus.IN_APPROVAL, approval_level=1, expenses=[expense])
    app.claims.create(claim, SYSTEM)
    app.claims.create(Claim(claim_id="c-2", employee_id="E202", department_id="HK-SALES", expenses=[other]), SYSTEM)
    summary = {**decisions.summary(claim), "approver_id": "E200", "on_behalf_of": None}
    page = review.approval_page(app.approvals, summary, app.expenses, Images())

    assert page["claimant"] == {"name": "黃小明 Wong Siu Ming", "department": "Sales 銷售部"}
    assert page["approver"]["name"] == "李嘉欣 Lee Ka Yan" and page["for"] is None
    (shown,) = page["expenses"]
    assert shown["receipt_url"] == "https://uploads.example/uploads/e-1.jpg?v=v1&s=600"
    assert "e-2" not in str(page)
    limits = page["limits"]
    assert {"category": "meals", "limit_hkd": "1500"} in limits["categories"]
    assert {r["require"] for r in limits["rules"]} == {"line_manager", "department_head"}  # HK$950 a head > 800
    assert page["next"] is None  # the line manager is the department head: one signature covers both rules
    assert page["hkd_total"] == "1900.00" and page["hkd_equivalents"] == {}


def test_hkd_equivalents_use_the_claims_own_rates():
    claim = Claim(claim_id="c-1", employee_id="E201", department_id="HK-SALES",
                  expenses=[receipt("e-1", total=Money.of("880.00", "CNY")), receipt("e-2")])
    policy = Policy()
    rate = policy.fx.hkd_per_unit["CNY"]
    assert review.hkd_equivalents(policy, claim) == {"CNY": str((Decimal("880.00") * rate).quantize(Decimal("0.01")))}
    assert review.in_hkd(policy, claim, Money.of("1.00", "HKD")) is None


def test_the_newer_rules_reasons_read_back_as_their_kind():
    from tests.unit.domain.anomaly_support import row, rules_fired

    def one(rule: str, rows, seen=(), **kw) -> dict:
        (finding,) = rules_fired(rows, list(seen), **kw)[rule]
        return review.parse_reason(finding.reason)

    first = row("408.00", vendor="譚仔雲南米線 TamJai Yunnan Mixian", claim="c-old", receipt_no="21107961")
    assert one("duplicate_own", [row("408.00", vendor="谭仔云南米线", receipt_no="21107961")], [first]) == {
        "code": "duplicate_respelled", "vendor": "譚仔雲南米線 TamJai Yunnan Mixian",
        "where": [{"this_claim": False, "claim_id": "c-old", "colleague_id": None}]}
    fairwood = row("140.00", vendor="Fairwood", receipt_no="No. 034037427", claim="c-old", who="E2")
    doctored = row("180.39", vendor="大快活 Fairwood", day=date(2025, 3, 12), receipt_no="34037427")
    assert one("duplicate_receipt_no", [doctored], [fairwood]) == {
        "code": "duplicate_receipt_no", "number": "34037427",
        "where": [{"this_claim": False, "claim_id": "c-old", "colleague_id": "E2"}]}
    photo = row("388.00", claim="c-old", receipt_no=None, image_hash="c3a5f00f1e2d3c4b")
    again = row("388.00", vendor="?? 4-1", receipt_no=None, image_hash="c3a5f00f1e2d3c4a")
    assert one("duplicate_rephotographed", [again], [photo]) == {
        "code": "duplicate_rephotographed", "where": [{"this_claim": False, "claim_id": "c-old", "colleague_id": None}]}

    sunday = one("weekend_holiday", [row("88.00", day=date(2025, 3, 9))],
                 policy=Policy(forbid_weekend_holiday_spend=True))
    assert sunday["code"] == "weekend_holiday" and sunday["en"].startswith("HK$88 of meals on Sunday 9 March 2025")
    assert sunday["zh-Hant"].startswith("2025年3月9日（星期日）")
    assert one("round_amount", [row("3000.00", category="general")])["code"] == "round_amount"
    by_rank = Policy(category_limits_by_rank_hkd={"meals": {2: Decimal("500")}})
    ranked = one("over_limit", [row("2700.00", attendees=3)], policy=by_rank)
    assert ranked == {"code": "over_limit", "amount": "900", "limit": "500", "heads": 3, "category": "meals",
                      "rank": "2"}


def test_the_models_reason_is_shown_under_its_own_heading_in_both_languages():
    reason = ("unusual for this company: HK$4,800 is 6× this employee's usual dinner (HK$800) / "
              "與公司慣常不同：港幣4,800元是此員工一般晚餐（港幣800元）的6倍")
    assert review.parse_reason(reason) == {
        "code": "unusual_for_company", "en": "HK$4,800 is 6× this employee's usual dinner (HK$800)",
        "zh-Hant": "港幣4,800元是此員工一般晚餐（港幣800元）的6倍"}
