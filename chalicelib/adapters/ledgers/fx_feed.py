"""The HKMA's daily exchange rates as a RateFeed (chalicelib.domain.fx_rates): the HTTP fetch here, the parsing
(pure, tested on a recorded payload) in the domain.

It sits in the ledgers package for now because it feeds posting; with the scheduled job that loads it daily it
belongs in chalicelib/adapters/fx_feed.py. The query parameters (`choose`, `from`, `to`, `sortby`, `pagesize`)
follow the HKMA API documentation for er-eeri-daily; they have not been tried against the live API from here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import requests

from chalicelib.adapters.ledgers.http import loads, utcnow
from chalicelib.domain.fx_rates import FeedPayloadInvalid, FxRate, parse_hkma_daily

HKMA_ER_DAILY = ("https://api.hkma.gov.hk/public/market-data-and-statistics/monthly-statistical-bulletin/"
                 "er-ir/er-eeri-daily")


class FeedUnavailable(Exception):
    """The feed could not be read today: yesterday's rates stand, and the staleness window says for how long."""


class HkmaRateFeed:
    def __init__(self, session: requests.Session, url: str = HKMA_ER_DAILY, *, timeout: float = 10.0,
                 clock: Callable[[], datetime] = utcnow):
        self.session, self.url, self.timeout, self.clock = session, url, timeout, clock

    def rates_for(self, day: date) -> list[FxRate]:
        return self.rates_between(day, day)

    def rates_between(self, first: date, last: date) -> list[FxRate]:
        params = {"choose": "end_of_day", "from": first.isoformat(), "to": last.isoformat(),
                  "sortby": "end_of_day", "sortorder": "asc", "pagesize": "1000"}
        try:
            response = self.session.get(self.url, params=params, timeout=self.timeout)
        except requests.RequestException as e:
            raise FeedUnavailable(f"HKMA rates feed unreachable: {type(e).__name__}") from e
        if response.status_code != 200:
            raise FeedUnavailable(f"HKMA rates feed answered {response.status_code}")
        try:
            payload = loads(response.content)
            rates = parse_hkma_daily(payload, self.clock())
        except (ValueError, FeedPayloadInvalid) as e:
            raise FeedUnavailable(f"HKMA rates feed payload refused: {e}") from e
        return [r for r in rates if first <= r.rate_date <= last]
