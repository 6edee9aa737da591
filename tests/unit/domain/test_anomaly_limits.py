"""Over the limit of the claimant's rank (meals a head, with attendees) and over the cost centre's monthly budget,
each reason with its numbers in words; an executive's large dinner within the executive's limit stays quiet."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from chalicelib.domain.policy import Policy
from tests.unit.domain.anomaly_support import row, rules_fired

RANKED = Policy(category_limits_by_rank_hkd={"meals": {1: Decimal("300"), 2: Decimal("600"), 5: Decimal("2500")}})


def test_meals_over_the_rank_limit_a_head_say_the_numbers():
    dinner = row("14400.00", attendees=3, rank=2)
    (finding,) = rules_fired([dinner], policy=RANKED)["over_limit"]
    assert finding.reason == (
        "over limit: HK$4,800 a head (3 people, HK$14,400 in all) is over the meals limit of HK$600 a head for rank 2"
        " / 超出限額：每人 HK$4,800（共 3 人，合共 HK$14,400）超過職級 2 的「膳食」每人上限 HK$600")
    (alone,) = rules_fired([row("4800.00", rank=2)], policy=RANKED)["over_limit"]
    assert alone.reason.startswith("over limit: HK$4,800 is over the meals limit of HK$600 a head for rank 2 / ")


def test_an_executives_large_dinner_within_the_executive_limit_stays_quiet():
    banquet = row("18650.40", attendees=8, rank=5, vendor="美心皇宮 Maxim's Palace")  # HK$2,331.30 a head
    assert "over_limit" not in rules_fired([banquet], policy=RANKED)
    assert "over_limit" in rules_fired([banquet.__class__(**{**_fields(banquet), "rank": 1})], policy=RANKED)


def test_without_rank_limits_the_company_limit_keeps_the_wording_the_approval_page_reads():
    (finding,) = rules_fired([row("6000.00", attendees=3)])["over_limit"]
    assert finding.reason.startswith("over limit: HKD 2,000.00 a head (3 people) exceeds the meals limit of "
                                     "HKD 1,500 / ")


BUDGET = Policy(cost_centre_budgets_hkd={"CC1": Decimal("40000")})


def test_spend_past_the_cost_centres_monthly_budget_fires_with_what_was_left():
    march = [row("38800.00", category="travel", day=date(2025, 3, 3))]
    (finding,) = rules_fired([row("3000.00", category="general")], march, policy=BUDGET)["over_budget"]
    assert finding.reason == (
        "over budget: cost centre CC1 had HK$1,200 left of its HK$40,000 budget for March 2025; this HK$3,000 takes "
        "it HK$1,800 over / 超出預算：成本中心 CC1 2025年3月預算 HK$40,000，尚餘 HK$1,200；"
        "此項 HK$3,000 令其超支 HK$1,800")


def test_the_budget_counts_earlier_expenses_of_the_same_claim_and_only_its_own_month_and_cost_centre():
    claim = [row("25000.00", claim="c-1", category="travel"), row("16000.00", claim="c-1", category="travel")]
    found = rules_fired(claim, policy=BUDGET)["over_budget"]
    assert len(found) == 1 and "had HK$15,000 left" in found[0].reason
    elsewhere = [row("38800.00", day=date(2025, 2, 27)), row("38800.00", cost_centre="CC2")]
    assert "over_budget" not in rules_fired([row("3000.00")], elsewhere, policy=BUDGET)
    assert "over_budget" not in rules_fired([row("3000.00", cost_centre="CC9")], elsewhere, policy=BUDGET)


def _fields(record) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}
