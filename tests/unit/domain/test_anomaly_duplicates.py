"""Duplicates beyond the same bytes: the vendor written another way, a colleague's claim of the same receipt, a
receipt number seen before at the vendor; and the look-alikes that must stay quiet."""

from __future__ import annotations

from datetime import date, timedelta

from tests.unit.domain.anomaly_support import row, rules_fired

DUPLICATES = {"duplicate_own", "duplicate_colleague", "duplicate_receipt_no"}


def test_the_same_receipt_resubmitted_with_the_vendor_in_simplified_chinese_is_a_duplicate():
    first = row("408.00", vendor="譚仔雲南米線 TamJai Yunnan Mixian", claim="c-old", receipt_no="21107961")
    again = row("408.00", vendor="谭仔云南米线", claim="c-new", receipt_no="21107961")
    (finding,) = rules_fired([again], [first])["duplicate_own"]
    assert "the same receipt (HK$408 on 2025-03-04) as in claim c-old" in finding.reason
    assert "“譚仔雲南米線 TamJai Yunnan Mixian”" in finding.reason and "重複：與申報 c-old為同一收據" in finding.reason


def test_english_and_ocr_slips_of_the_vendor_are_the_same_vendor():
    first = row("188.30", vendor="麥當勞", claim="c-old", receipt_no=None)
    for spelling in ("McDonald's Hong Kong", "McDonlds Hong Kong"):
        assert "duplicate_own" in rules_fired([row("188.30", vendor=spelling, receipt_no=None)], [first])


def test_a_colleague_claiming_the_same_receipt_is_named_as_a_colleague():
    mine = row("612.40", who="E1", claim="c-mine", receipt_no="55501234")
    theirs = row("612.40", who="E2", claim="c-theirs", receipt_no="55501234", evidence_key="another-photo")
    (finding,) = rules_fired([theirs], [mine])["duplicate_colleague"]
    assert finding.reason.startswith("duplicate: same vendor, date and total as in claim c-mine of colleague E1 / ")


def test_a_forwarded_photo_is_the_same_file():
    mine = row("612.40", who="E1", claim="c-mine", evidence_key="sha-photo")
    theirs = row("98.00", who="E2", claim="c-theirs", evidence_key="sha-photo", vendor="Other")
    (finding,) = rules_fired([theirs], [mine])["duplicate_colleague"]
    assert "same receipt file as in claim c-mine of colleague E1" in finding.reason


def test_a_receipt_number_already_claimed_at_the_vendor_fires_on_another_day_and_amount():
    first = row("140.00", vendor="Fairwood", day=date(2025, 3, 3), receipt_no="No. 034037427", claim="c-old")
    doctored = row("180.39", vendor="大快活 Fairwood", day=date(2025, 3, 12), receipt_no="34037427")
    (finding,) = rules_fired([doctored], [first])["duplicate_receipt_no"]
    assert "receipt number 34037427 of 大快活 Fairwood was already claimed in claim c-old (HK$140 on 2025-03-03)" \
        in finding.reason


def test_the_same_receipt_number_at_another_vendor_is_quiet():
    first = row("140.00", vendor="Fairwood", receipt_no="34037427", claim="c-old")
    assert not rules_fired([row("55.00", vendor="7-Eleven", receipt_no="34037427")], [first]).keys() & DUPLICATES


def test_colleagues_at_one_lunch_each_paying_their_share_stay_quiet():
    day, vendor = date(2025, 3, 5), "稻香 Tao Heung"
    shares = [row("126.50", who="E1", vendor=vendor, day=day, receipt_no="70001"),
              row("126.50", who="E2", vendor="Tao Heung", day=day, receipt_no="70002"),  # same amount, own receipt
              row("98.00", who="E3", vendor=vendor, day=day, receipt_no=None)]  # another amount
    assert not rules_fired([row("126.50", who="E4", vendor="稻香", day=day, receipt_no="70003")],
                           shares).keys() & DUPLICATES


def test_the_same_monthly_taxi_fare_stays_quiet():
    fares = [row("156.50", vendor="的士 Taxi", category="taxi", day=date(2025, m, 10), receipt_no=None)
             for m in (1, 2)]
    march = row("156.50", vendor="Taxi", category="taxi", day=date(2025, 3, 10), receipt_no=None)
    assert not rules_fired([march], fares).keys() & DUPLICATES


def test_an_expense_is_not_a_duplicate_of_itself_and_two_in_one_claim_are():
    lunch = row("90.00", claim="c-1")
    assert not rules_fired([lunch], [lunch]).keys() & DUPLICATES
    twice = row("90.00", claim="c-1", vendor="翠华餐厅", receipt_no=lunch.receipt_no,
                submitted=lunch.submitted_at + timedelta(0))
    found = rules_fired([lunch, twice])
    assert len(found["duplicate_own"]) == 2 and "this claim" in found["duplicate_own"][0].reason


def test_a_further_rule_a_model_for_instance_sees_each_row_with_the_history():
    from chalicelib.domain.anomaly import Finding, History, VendorResolver, assess_claim
    from chalicelib.domain.policy import Policy
    from chalicelib.domain.vendors import seed_directory

    seen = [row("90.00", claim="c-old")]
    calls = []

    def unusual(record, history):
        calls.append((record.expense_id, len(history.by_employee(record.employee_id))))
        return [Finding(0.5, "unusual: 6× this employee's usual lunch / 異常：此員工平常午餐的 6 倍", "model")]

    lunch = row("540.00")
    found = assess_claim([lunch], History(seen), Policy(), VendorResolver(seed_directory()), extra_rules=[unusual])
    assert calls == [(lunch.expense_id, 1)] and [f.rule for f in found[lunch.expense_id]] == ["model"]
