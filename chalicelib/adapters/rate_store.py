"""Dated FX rates in DynamoDB (`fx_rates`): what finance uploads (POST /fx-rates) and a feed delivers.

Every load is kept (sort key `<rate date>#<loaded_at>`), so a correction stands beside the rate it corrects;
`book()` reads the currencies asked for (a Query each, never a Scan) into a RateBook, which applies the latest
load of each day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chalicelib.adapters.dynamo_models import FxRateItem
from chalicelib.domain.fx_rates import BASE_CURRENCY, DEFAULT_MAX_AGE_DAYS, FxRate, RateBook


def _sk(rate: FxRate) -> str:
    return f"{rate.rate_date.isoformat()}#{rate.loaded_at.isoformat()}"


class RateStore:
    def put_many(self, rates: Sequence[FxRate]) -> int:
        """Writes an upload already checked whole (fx_rates.parse_rates_csv is all or nothing)."""
        with FxRateItem.batch_write() as batch:
            for rate in rates:
                batch.save(FxRateItem(currency=rate.currency, sk=_sk(rate), body=rate.model_dump_json()))
        return len(rates)

    def rates(self, currency: str) -> list[FxRate]:
        return [FxRate.model_validate_json(item.body) for item in FxRateItem.query(currency.upper())]

    def book(self, currencies: Iterable[str], max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> RateBook:
        wanted = sorted({c.upper() for c in currencies} - {BASE_CURRENCY})
        return RateBook([rate for c in wanted for rate in self.rates(c)], max_age_days=max_age_days)


class MemoryRateStore:
    """The same, in memory (unit tests, the bench)."""

    def __init__(self, rates: Iterable[FxRate] = ()):
        self.held: list[FxRate] = list(rates)

    def put_many(self, rates: Sequence[FxRate]) -> int:
        self.held.extend(rates)
        return len(rates)

    def rates(self, currency: str) -> list[FxRate]:
        return [r for r in self.held if r.currency == currency.upper()]

    def book(self, currencies: Iterable[str], max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> RateBook:
        wanted = {c.upper() for c in currencies}
        return RateBook([r for r in self.held if r.currency in wanted], max_age_days=max_age_days)
