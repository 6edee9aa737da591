"""Over budget: the cost centre's spend this month (receipts counted in the month they are dated) would pass the
monthly budget finance loaded."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.history import History
from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.anomaly.words import hk, month_en
from chalicelib.domain.policy import Policy


def over_budget(record: SpendRecord, earlier_in_claim: list[SpendRecord], history: History,
                policy: Policy) -> list[Finding]:
    cc, day = record.cost_centre, record.receipt_date
    budget = policy.cost_centre_budgets_hkd.get(cc) if cc else None
    if budget is None or day is None or record.total_hkd is None:
        return []
    spent = history.cost_centre_spent(cc, day.year, day.month) + sum(
        (r.total_hkd for r in earlier_in_claim if r.cost_centre == cc and r.receipt_date and r.total_hkd is not None
         and (r.receipt_date.year, r.receipt_date.month) == (day.year, day.month)), Decimal("0"))
    if spent + record.total_hkd <= budget:
        return []
    left = max(budget - spent, Decimal("0"))
    over = spent + record.total_hkd - budget
    return [Finding(0.6, f"over budget: cost centre {cc} had {hk(left)} left of its {hk(budget)} budget for "
                         f"{month_en(day.year, day.month)}; this {hk(record.total_hkd)} takes it {hk(over)} over / "
                         f"超出預算：成本中心 {cc} {day.year}年{day.month}月預算 {hk(budget)}，尚餘 {hk(left)}；"
                         f"此項 {hk(record.total_hkd)} 令其超支 {hk(over)}", "over_budget")]
