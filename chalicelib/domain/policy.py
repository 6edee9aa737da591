"""Company policy that finance edits as data: thresholds, per-category limits, FX, timeouts."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.domain.allowances import DEFAULT_ALLOWANCES, AllowancePolicy
from chalicelib.domain.fx_rates import DEFAULT_MAX_AGE_DAYS, RateRule
from chalicelib.domain.money import DEFAULT_FX, FxTable
from chalicelib.domain.routing import RoutingRule, default_rules
from chalicelib.domain.schedule import ReminderPolicy

#: the books a company keeps: an adapter each (chalicelib/adapters/ledgers/factory.py); `internal` is the journal
#: this system keeps itself (the `ledger` table), `journal_csv` a general-journal CSV finance downloads per month
LedgerName = Literal["xero", "quickbooks", "netsuite", "yonyou", "journal_csv", "internal"]


class Policy(BaseModel):
    company: str = "default"
    category_limits_hkd: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "meals": Decimal("1500"),
            "entertainment": Decimal("8000"),
            "taxi": Decimal("800"),
            "travel": Decimal("30000"),
            "general": Decimal("10000"),
        }
    )
    fx: FxTable = DEFAULT_FX
    approval_timeout_seconds: int = 172800  # 48 hours, the approval KPI
    escalation_desk_ids: list[str] = Field(default_factory=list)  # admins told when nobody above is left
    top_approver_id: str | None = None  # signs claims of people with nobody eligible above them
    high_risk_score: float = 0.7
    # Above this HKD amount (the dual-signature threshold), or at high risk, a decision needs the approver's own
    # signed-in session (step-up); at or below it, the signed single-use link alone may decide.
    link_only_max_hkd: Decimal = Decimal("5000")
    rules: list[RoutingRule] = Field(default_factory=default_rules)
    reminders: ReminderPolicy = Field(default_factory=ReminderPolicy)
    allowances: AllowancePolicy = Field(default_factory=lambda: DEFAULT_ALLOWANCES.model_copy(deep=True))
    advance_max_hkd: Decimal = Decimal("20000")  # the largest cash advance (備用金) one request may ask for
    advance_overdue_days: int = 30  # a paid advance not settled by a claim within this many days is chased
    # --- posting to the books (issue 20) ---
    ledger: LedgerName = "internal"
    fx_rule: RateRule = RateRule.RECEIPT_DATE  # which day's dated rate converts a foreign amount
    fx_max_age_days: int = DEFAULT_MAX_AGE_DAYS  # an older dated rate is stale; without any, `fx` ("policy table")

    # --- anomaly rules (chalicelib.domain.anomaly); the defaults keep a company without them as it was -------------
    #: Per-head limits by rank (1..5) for a category; where a category has them they replace its company-wide limit.
    category_limits_by_rank_hkd: dict[str, dict[int, Decimal]] = Field(default_factory=dict)
    #: Each cost centre's monthly budget in HKD (receipts counted in the month they are dated).
    cost_centre_budgets_hkd: dict[str, Decimal] = Field(default_factory=dict)
    #: Spend dated on a Saturday, Sunday or public holiday (of `holiday_country`) is flagged, except these categories.
    forbid_weekend_holiday_spend: bool = False
    weekend_holiday_allowed_categories: list[str] = Field(default_factory=lambda: ["travel"])
    holiday_country: str = "HK"
    #: A receipt dated more than this many days before the claim's submission is flagged.
    receipt_max_age_days: int = 90
    #: An amount of at least this much that is a whole multiple of `round_amount_step_hkd` looks made up.
    round_amount_min_hkd: Decimal = Decimal("1000")
    round_amount_step_hkd: Decimal = Decimal("100")
    #: Fares and room rates are priced in round numbers: a round airfare says nothing.
    round_amount_exempt_categories: list[str] = Field(default_factory=lambda: ["travel"])
    #: Threshold splitting: claims within this share under an approval threshold, this many days apart or fewer.
    #: Empty thresholds: the routing rules' amounts and the link-only limit.
    split_thresholds_hkd: list[Decimal] = Field(default_factory=list)
    split_margin: Decimal = Decimal("0.12")
    split_window_days: int = 3
    #: A taxi between these local hours on a working day, near a hotel bill in the same city, is flagged.
    night_taxi_hours: tuple[int, int] = (1, 5)

    def approval_thresholds_hkd(self, categories: Iterable[str] = ()) -> list[Decimal]:
        """The HKD amounts above which a claim of these categories needs more signatures: what splitting keeps
        under. A threshold whose signer the categories need anyway (entertainment always goes to the department
        head) gains a splitter nothing and is left out."""
        if self.split_thresholds_hkd:
            return sorted(self.split_thresholds_hkd)
        kinds = set(categories)
        always = {r.require for r in self.rules if r.amount_hkd_over is None and r.per_head_hkd_over is None
                  and r.risk_at_least is None and (r.categories is None or kinds & set(r.categories))}
        found = {r.amount_hkd_over for r in self.rules
                 if r.amount_hkd_over is not None and not r.categories and r.require not in always}
        return sorted(found | {self.link_only_max_hkd})
