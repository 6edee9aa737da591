"""The rates posting converts at: finance's dated rates first, else the policy's fixed table.

A company that has loaded no dated rate for a currency keeps working as before: the fixed `Policy.fx` rate is
applied and named as such (source "policy table", dated the day the rule asked for), so the expense and the
ledger still say which rate was used and where it came from. A dated rate that exists but is stale is NOT
replaced by the policy table: the claim waits for finance (StaleRate), as fx_rates.RateBook decides.
"""

from __future__ import annotations

from datetime import date

from chalicelib.domain.fx_rates import (
    BASE_CURRENCY,
    AppliedRate,
    RateBook,
    RateNotFound,
    RateRule,
    wanted_date,
)
from chalicelib.domain.money import FxTable

POLICY_TABLE_SOURCE = "policy table"


class RatesWithPolicyFallback(RateBook):
    """A RateBook whose missing rates come from the policy's fixed table (see the module docstring)."""

    def __init__(self, book: RateBook, fallback: FxTable):
        super().__init__(max_age_days=book.max_age_days)
        self.history, self._by_day, self._days = book.history, book._by_day, book._days
        self.fallback = fallback

    def rate_for(self, currency: str, receipt_date: date, rule: RateRule = RateRule.RECEIPT_DATE,
                 payment_date: date | None = None) -> AppliedRate:
        try:
            return super().rate_for(currency, receipt_date, rule, payment_date)
        except RateNotFound:
            rate = self.fallback.hkd_per_unit.get(currency.upper())
            if rate is None or currency.upper() == BASE_CURRENCY:
                raise
            on = wanted_date(rule, receipt_date, payment_date, currency)
            return AppliedRate(currency=currency.upper(), hkd_per_unit=rate, rate_date=on,
                               source=POLICY_TABLE_SOURCE, rule=rule, wanted_date=on)
