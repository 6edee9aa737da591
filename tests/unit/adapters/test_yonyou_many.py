"""Many approved claims in mixed currencies through the Yonyou adapter and its fake, with failures injected: no
claim booked twice, every voucher balanced, and the HKD credited to employees equals the HKD worked out
independently from the claims and the rates (test_xero_many.independent_hkd)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from chalicelib.adapters.ledgers.http import RetryPolicy
from chalicelib.adapters.ledgers.port import LedgerUnavailable
from chalicelib.adapters.ledgers.yonyou import YonyouLedger
from chalicelib.domain.ledger_mapping import posting_for
from tests.ledger_fakes.yonyou import APP_KEY, APP_SECRET, QUERY, SAVE, FakeYonyou
from tests.unit.adapters.test_xero_many import NOW, claims, independent_hkd, rate_book
from tests.unit.adapters.test_yonyou_payload import config


def test_many_claims_with_failures_post_once_each_and_the_hkd_adds_up():
    rng = random.Random(2028)
    book = rate_book(rng)
    fake = FakeYonyou(honour_business_ids=False)  # the lookup alone prevents duplicates
    waits: list[float] = []
    yonyou = YonyouLedger.connect(config(department_codes={}, expense_accounts={
        "meals": "660201", "taxi": "660203", "travel": "660204", "general": "660299"}), fake.session(), APP_KEY,
        APP_SECRET, policy=RetryPolicy(max_attempts=3), sleep=waits.append, clock=lambda: NOW)
    batch = claims(rng, 120)
    pending = list(batch)
    for _round in range(10):  # the queue redelivers what failed
        failed = []
        for claim in pending:
            if rng.random() < 0.3:
                fault = rng.choice(["429", "500", "timeout_after_write", "timeout", "401"])
                fake.inject(fault, path=rng.choice([SAVE, QUERY]), times=1 if fault == "401" else rng.randint(1, 4))
            try:
                yonyou.post(posting_for(claim, "Chan Tai Man", book, date(2026, 11, 30)))
            except LedgerUnavailable:
                failed.append(claim)
        pending = failed
        if not pending:
            break
    vouchers = list(fake.vouchers.values())
    ids = [v["externalSourceDataId"] for v in vouchers]
    assert pending == [] and len(ids) == len(set(ids)) == len(batch)  # all booked, no duplicates
    assert all(v["totalDebitOrg"] == v["totalCreditOrg"] for v in vouchers)
    owed = sum((b["creditOrg"] for v in vouchers for b in v["bodies"] if b["accsubjectCode"] == "224101"),
               Decimal(0))
    expected = sum((independent_hkd(claim, book) for claim in batch), Decimal(0))
    assert owed - expected == Decimal("0.00")
    assert {b["currencyCode"] for v in vouchers for b in v["bodies"]} >= {"HKD", "USD", "JPY", "CNY", "KWD", "EUR"}
    assert waits
