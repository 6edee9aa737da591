"""The HKMA feed adapter on the recorded payload, served by a requests transport (no network)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter

from chalicelib.adapters.ledgers.fx_feed import HKMA_ER_DAILY, FeedUnavailable, HkmaRateFeed
from chalicelib.domain.fx_rates import HKMA_SOURCE, RateBook

RECORDED = (Path(__file__).resolve().parents[2] / "fixtures" / "fx" / "hkma_er_eeri_daily.json").read_bytes()
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class Recorded(BaseAdapter):
    def __init__(self, status: int = 200, body: bytes = RECORDED, error: Exception | None = None):
        super().__init__()
        self.status, self.body, self.error, self.urls = status, body, error, []

    def send(self, request, **kwargs):
        self.urls.append(request.url)
        if self.error:
            raise self.error
        response = requests.Response()
        response.status_code, response._content, response.request, response.url = (
            self.status, self.body, request, request.url)
        return response

    def close(self):
        return None


def feed(adapter: Recorded) -> HkmaRateFeed:
    session = requests.Session()
    session.mount("https://api.hkma.gov.hk/", adapter)
    return HkmaRateFeed(session, clock=lambda: NOW)


def test_the_feed_asks_for_the_days_and_loads_the_rates_with_their_source():
    adapter = Recorded()
    rates = feed(adapter).rates_between(date(2026, 11, 27), date(2026, 11, 30))
    assert adapter.urls[0].startswith(HKMA_ER_DAILY + "?")
    assert "from=2026-11-27" in adapter.urls[0] and "to=2026-11-30" in adapter.urls[0]
    usd = RateBook(rates).rate_for("USD", date(2026, 11, 30))
    assert (usd.hkd_per_unit, usd.source) == (Decimal("7.7830"), HKMA_SOURCE)
    assert {r.loaded_at for r in rates} == {NOW}


def test_one_day_keeps_only_that_day():
    rates = feed(Recorded()).rates_for(date(2026, 11, 30))
    assert {r.rate_date for r in rates} == {date(2026, 11, 30)}


@pytest.mark.parametrize("adapter", [Recorded(status=503, body=b""), Recorded(body=b"<html>maintenance</html>"),
                                     Recorded(body=b'{"header": {"success": false, "err_msg": "x"}}'),
                                     Recorded(error=requests.ConnectTimeout("slow"))])
def test_a_feed_that_cannot_be_read_says_so(adapter):
    with pytest.raises(FeedUnavailable):
        feed(adapter).rates_for(date(2026, 11, 30))
