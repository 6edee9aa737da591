"""The daily rates feed (services/posting.load_feed_rates) on the recorded HKMA payload: the week's rates loaded
once, a second run loading nothing, an unreachable feed failing the run with nothing written."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from chalicelib.adapters.ledgers.fx_feed import FeedUnavailable, HkmaRateFeed
from chalicelib.adapters.rate_store import MemoryRateStore
from chalicelib.domain.fx_rates import HKMA_SOURCE, FxRate
from chalicelib.services import posting
from tests.unit.adapters.test_fx_feed import RECORDED, Recorded, feed

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def recorded_for(*days: date) -> bytes:
    """The recorded payload with its records moved to `days` (the feed as it would answer on another day)."""
    payload = json.loads(RECORDED, parse_float=Decimal)
    records = payload["result"]["records"]
    payload["result"]["records"] = [{**records[i % len(records)], "end_of_day": d.isoformat()}
                                    for i, d in enumerate(days)]
    return json.dumps(payload, default=str).encode()


def test_the_weeks_rates_are_loaded_once_and_a_second_run_loads_nothing():
    store = MemoryRateStore()
    first = posting.load_feed_rates(store, feed(Recorded()), NOW)
    assert (first.loaded, first.already_held, first.first, first.last) == (33, 0, date(2026, 11, 23),
                                                                            date(2026, 11, 30))
    assert "USD" in first.currencies and "IDR" in first.currencies  # IDR blank on the 30th: the 27th only
    assert {r.source for r in store.held} == {HKMA_SOURCE} and {r.loaded_by for r in store.held} == {"hkma-feed"}
    again = posting.load_feed_rates(store, feed(Recorded()), NOW + timedelta(hours=1))
    assert (again.loaded, again.already_held) == (0, 33) and len(store.held) == 33


def test_a_finance_upload_for_the_same_day_does_not_stop_the_feeds_rate():
    store = MemoryRateStore([FxRate(currency="USD", rate_date=date(2026, 11, 30), hkd_per_unit="7.80",
                                    source="finance upload", loaded_by="E300", loaded_at=NOW)])
    assert posting.load_feed_rates(store, feed(Recorded()), NOW).loaded == 33


def test_a_record_dated_outside_the_week_is_not_loaded():
    body = recorded_for(date(2026, 11, 1), date(2026, 11, 29))
    load = posting.load_feed_rates(MemoryRateStore(), feed(Recorded(body=body)), NOW)
    assert load.loaded == 16 and load.currencies[0] == "AUD"  # the 29th: the record with IDR blank


@pytest.mark.parametrize("adapter", [Recorded(status=503, body=b""), Recorded(error=requests.ConnectionError("down"))])
def test_an_unreachable_feed_fails_the_run_and_writes_nothing(adapter):
    store = MemoryRateStore()
    with pytest.raises(FeedUnavailable):
        posting.load_feed_rates(store, feed(adapter), NOW)
    assert store.held == []
    assert isinstance(feed(adapter), HkmaRateFeed)
