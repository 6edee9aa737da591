"""Non-partner vendors in a category with approved suppliers (a first-time vendor elsewhere is fine), and spend
cut just under an approval threshold by one person or by colleagues travelling together."""

from __future__ import annotations

from datetime import date, timedelta

from chalicelib.domain.policy import Policy
from tests.unit.domain.anomaly_support import SUBMITTED, partners, row, rules_fired

VENUES = partners(("tao-heung", "entertainment"), ("maxims-palace", "entertainment"))


def test_a_non_partner_vendor_in_a_category_with_approved_suppliers_fires_and_names_them():
    dinner = row("2890.50", category="entertainment", attendees=6, vendor="翠華餐廳")
    (finding,) = rules_fired([dinner], vendors=VENUES)["non_partner"]
    assert finding.reason.startswith("non-partner vendor: 翠華餐廳 is not an approved entertainment supplier "
                                     "(approved: ")
    assert "稻香 Tao Heung" in finding.reason and "非合作商戶" in finding.reason


def test_partners_in_any_script_and_first_time_vendors_elsewhere_stay_quiet():
    assert "non_partner" not in rules_fired([row("2890.50", category="entertainment", vendor="稻香酒家")],
                                            vendors=VENUES)
    assert "non_partner" not in rules_fired([row("2890.50", category="entertainment", vendor="美心皇宫")],
                                            vendors=VENUES)
    first_time = row("88.00", category="meals", vendor="新祥記茶餐廳 Sun Cheung Kee Cafe")
    assert "non_partner" not in rules_fired([first_time], vendors=VENUES)
    assert "non_partner" not in rules_fired([row("2890.50", category="entertainment")])  # no partners at all


def test_one_purchase_cut_into_claims_just_under_hk_5000_fires_on_the_second():
    first = row("4795.00", category="general", vendor="Fortress", claim="c-1")
    second = row("4880.50", category="general", vendor="豐澤 Fortress", claim="c-2",
                 submitted=SUBMITTED + timedelta(days=1), day=date(2025, 3, 5))
    assert "threshold_split" not in rules_fired([first])
    (finding,) = rules_fired([second], [first])["threshold_split"]
    assert finding.reason.startswith("split claim: 2 claims of HK$4,880.50 or so within 3 days, each just under the "
                                     "HK$5,000 approval threshold, HK$9,675.50 together / 疑似拆單")


def test_colleagues_travelling_together_each_claiming_a_share_of_one_hotel_bill_fire():
    stay = date(2025, 3, 7)
    mine = row("4300.00", "CNY", category="travel", vendor="Shangri-La Hotel Shanghai", day=stay, who="E1",
               city="Shanghai")  # HK$4,644
    theirs = row("4400.00", "CNY", category="travel", vendor="香格里拉 Shanghai", day=stay, who="E2",
                 city="Shanghai")  # HK$4,752
    (finding,) = rules_fired([theirs], [mine])["threshold_split"]
    assert "split bill: 2 colleagues travelling together" in finding.reason and "HK$9,396 together" in finding.reason


def test_unrelated_claims_near_a_threshold_stay_quiet():
    dinner = row("4640.40", category="meals", vendor="太興", claim="c-1")
    trip = row("4612.90", category="travel", vendor="Cathay Pacific", claim="c-2")
    assert "threshold_split" not in rules_fired([trip], [dinner])  # different vendors
    later = row("4880.50", category="meals", vendor="太興", claim="c-3", submitted=SUBMITTED + timedelta(days=9))
    assert "threshold_split" not in rules_fired([later], [dinner])  # too far apart
    # entertainment always goes to the department head: staying under HK$2,000 gains nothing
    feast = [row("1796.50", category="entertainment", vendor="稻香", claim=f"c-{i}") for i in (4, 5)]
    assert "threshold_split" not in rules_fired([feast[1]], [feast[0]])
    assert "threshold_split" in rules_fired([feast[1]], [feast[0]], policy=Policy(split_thresholds_hkd=["2000"]))
