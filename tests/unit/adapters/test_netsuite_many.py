"""Many approved claims in mixed currencies through the NetSuite adapter and its fake, with NetSuite's failures
injected: no claim posted twice, and the HKD posted equals the HKD worked out independently from the claims and the
rates (test_xero_many.independent_hkd)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from chalicelib.adapters.ledgers.http import RetryPolicy
from chalicelib.adapters.ledgers.netsuite import NetSuiteLedger
from chalicelib.adapters.ledgers.port import LedgerUnavailable
from chalicelib.domain.ledger_mapping import posting_for
from tests.ledger_fakes.netsuite import CERTIFICATE_ID, CLIENT_ID, FakeNetSuite, private_key_pem
from tests.unit.adapters.test_netsuite_payload import config
from tests.unit.adapters.test_xero_many import NOW, claims, independent_hkd, rate_book


def test_many_claims_with_failures_post_once_each_and_the_hkd_adds_up():
    rng = random.Random(2027)
    book = rate_book(rng)
    fake = FakeNetSuite(upsert=False)  # the lookup by external id alone prevents duplicates
    waits: list[float] = []
    netsuite = NetSuiteLedger.connect(config(department_ids={}), fake.session(), CLIENT_ID, CERTIFICATE_ID,
                                      private_key_pem(), policy=RetryPolicy(max_attempts=3), sleep=waits.append,
                                      clock=lambda: NOW)
    batch = claims(rng, 120)
    pending = list(batch)
    for _round in range(10):  # the queue redelivers what failed
        failed = []
        for claim in pending:
            if rng.random() < 0.3:
                fault = rng.choice(["429", "500", "timeout_after_write", "timeout", "401"])
                fake.inject(fault, method=rng.choice(["PUT", "GET"]), times=1 if fault == "401" else rng.randint(1, 4))
            try:
                netsuite.post(posting_for(claim, "Chan Tai Man", book, date(2026, 11, 30)))
            except LedgerUnavailable:
                failed.append(claim)
        pending = failed
        if not pending:
            break
    records = list(fake.records["expenseReport"].values())
    ids = [r["externalId"] for r in records]
    assert pending == [] and len(ids) == len(set(ids)) == len(batch)  # all posted, no duplicates
    posted = sum((r["total"] for r in records), Decimal(0))
    expected = sum((independent_hkd(claim, book) for claim in batch), Decimal(0))
    assert posted - expected == Decimal("0.00")
    currencies = {item["currency"]["id"] for r in records for item in r["expense"]["items"]}
    assert len(currencies) >= 5  # HKD, USD, JPY, CNY, KWD, EUR lines carried with their own currency and rate
    assert any(item.get("expenseaccount") == {"id": "695"} for r in records for item in r["expense"]["items"])
    assert waits
