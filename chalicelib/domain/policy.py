"""Company policy that finance edits as data: thresholds, per-category limits, FX, timeouts."""

from __future__ import annotations

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
