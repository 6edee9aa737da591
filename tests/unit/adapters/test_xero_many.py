"""Many approved claims in mixed currencies through the Xero adapter and its fake, with Xero's failures injected:
no claim posted twice, and the HKD posted equals the HKD worked out independently from the claims and the rates.
(The seed of bench/ledger.py, at a size a unit test affords.)"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.adapters.ledgers.http import MemoryTokenStore, RetryPolicy, TokenSet
from chalicelib.adapters.ledgers.port import LedgerUnavailable
from chalicelib.adapters.ledgers.xero import XeroConfig, XeroLedger
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.currencies import MINOR_UNITS
from chalicelib.domain.fx_rates import FxRate, RateBook
from chalicelib.domain.ledger_mapping import posting_for
from chalicelib.domain.money import Money
from tests.builders import receipt
from tests.ledger_fakes.xero import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeXero

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
RATES = {"USD": "7.7812", "JPY": "0.05021", "CNY": "1.0957", "KWD": "25.3187", "EUR": "8.9127", "HKD": None}


def rate_book(rng: random.Random) -> RateBook:
    rates = []
    for day in range(1, 31):
        for currency, base in RATES.items():
            if base is None:
                continue
            wobble = Decimal(1) + Decimal(rng.randint(-200, 200)) / Decimal(100000)
            rates.append(FxRate(currency=currency, rate_date=date(2026, 11, day),
                                hkd_per_unit=(Decimal(base) * wobble).quantize(Decimal("0.000001")),
                                source="HKMA er-eeri-daily", loaded_by="hkma-feed", loaded_at=NOW))
    return RateBook(rates)


def claims(rng: random.Random, count: int) -> list[Claim]:
    out = []
    for n in range(count):
        expenses = []
        for i in range(rng.randint(1, 6)):
            currency = rng.choice(list(RATES))
            places = MINOR_UNITS[currency]
            amount = (Decimal(rng.randint(1, 2_000_00)) / 100).quantize(Decimal(1).scaleb(-places))
            if amount <= 0:
                amount = Decimal(1)
            expenses.append(receipt(f"e-{n}-{i}", "E201", total=Money.of(str(amount), currency),
                                    receipt_date=date(2026, 11, rng.randint(1, 30)),
                                    category=rng.choice(["meals", "taxi", "travel", "general"])))
        out.append(Claim(claim_id=f"c-{n:04d}", employee_id="E201", department_id="D1", status=ClaimStatus.APPROVED,
                         cost_centre=rng.choice(["CC-1", "CC-2", None]), expenses=expenses))
    return out


def independent_hkd(claim: Claim, book: RateBook) -> Decimal:
    """Each claim's HKD total from first principles: per currency and rate, the sum converted once, half up."""
    groups: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
    for expense in claim.expenses:
        if expense.total.currency == "HKD":
            groups[("HKD", Decimal(1))] += expense.total.amount
            continue
        rate = book.latest_on_or_before(expense.total.currency, expense.receipt_date).hkd_per_unit
        groups[(expense.total.currency, rate)] += expense.total.amount
    return sum(((amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                for (_, rate), amount in groups.items()), Decimal(0))


def test_many_claims_with_failures_post_once_each_and_the_hkd_adds_up():
    rng = random.Random(2026)
    book = rate_book(rng)
    fake = FakeXero()
    fake.honour_idempotency = False  # the lookup by claim id alone prevents duplicates
    store = MemoryTokenStore(TokenSet(access_token="access-0", refresh_token="refresh-0",
                                      expires_at=NOW + timedelta(minutes=30)))
    waits: list[float] = []
    xero = XeroLedger.connect(XeroConfig(tenant_id=TENANT_ID), fake.session(), CLIENT_ID, CLIENT_SECRET, store,
                              policy=RetryPolicy(max_attempts=3), sleep=waits.append, clock=lambda: NOW)
    batch = claims(rng, 150)
    pending = list(batch)
    for _round in range(10):  # the queue redelivers what failed
        failed = []
        for claim in pending:
            if rng.random() < 0.3:
                fault = rng.choice(["429", "500", "timeout_after_write", "timeout", "401"])
                # an expired token is met once (refreshed); twice in a row is a person's problem, tested elsewhere
                fake.inject(fault, method=rng.choice(["PUT", "GET"]), times=1 if fault == "401" else rng.randint(1, 4))
            try:
                xero.post(posting_for(claim, "Chan Tai Man", book, date(2026, 11, 30)))
            except LedgerUnavailable:
                failed.append(claim)
        pending = failed
        if not pending:
            break
    numbers = [bill["InvoiceNumber"] for bill in fake.invoices.values()]
    assert pending == [] and len(numbers) == len(set(numbers)) == len(batch)  # all posted, no duplicates
    posted = sum((bill["Total"] for bill in fake.invoices.values()), Decimal(0))
    expected = sum((independent_hkd(claim, book) for claim in batch), Decimal(0))
    assert posted - expected == Decimal("0.00")
    assert any(b["LineItems"][-1]["AccountCode"] == "6195" for b in fake.invoices.values())  # rounding lines used
    assert waits  # failures were met (and waited out without sleeping)
