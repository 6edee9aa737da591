"""Ledger posting benchmark: 1,000 approved claims in mixed currencies through each ledger adapter, exactly once.

For every ledger in LEDGERS (xero, quickbooks, netsuite, yonyou), the same claims are posted through the real use
case (chalicelib.services.posting.post: dated rates, the rounding line, the claim and posting-record writes) and the
real adapter, against the vendor's local fake (tests/ledger_fakes/, in process, no network), with failures
injected on the writes:
- 429 with Retry-After, 500s (sometimes more than the adapter retries, so the message goes back to the queue),
  timeouts after the write happened (the document exists, the answer was lost), a few validation errors;
- SQS's at-least-once delivery: some messages are delivered twice, and a retryable failure is redelivered (up to
  the queue's maxReceiveCount, then dead-lettered), as functions/posting_worker.py sees them.
Time is a fake clock the adapters' sleeps advance: waits cost nothing, so postings/s is the code's own speed.

One claim in ten settles a paid cash advance (between 30% and 150% of the claim: some owe the employee the rest,
some leave a refund due from the employee), offset in the vendor's document.

Printed per ledger (`name: value`): posted, duplicates (documents beyond one per claim: must be 0), failures with
their reasons, dead-lettered, HKD variance between what the ledger holds and the same sum computed here from the
claims and the rate table (per claim: each currency's payable sum at the receipt date's rate, rounded half up once
to the cent: the documented rule; for a claim settling an advance, what the document owes the employee: the claim
less the advance, never below zero; must be 0.00), advances settled and their variance, postings/s.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from chalicelib.adapters.ledgers.factory import LedgerWiring, ledger_adapter
from chalicelib.adapters.ledgers.http import RetryPolicy
from chalicelib.adapters.posting_records import MemoryPostingRecords
from chalicelib.adapters.rate_store import MemoryRateStore
from chalicelib.domain.advance import Advance, AdvanceStatus
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.currencies import MINOR_UNITS
from chalicelib.domain.errors import LedgerError
from chalicelib.domain.expense import Expense
from chalicelib.domain.fx_rates import FxRate
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.money import Money
from chalicelib.services import posting

CURRENCIES = {"HKD": None, "USD": "7.8155", "CNY": "1.0812", "JPY": "0.05213", "EUR": "8.4431", "GBP": "9.8723",
              "SGD": "5.8321", "KWD": "25.4102", "TWD": "0.24117"}
CATEGORIES = ("meals", "taxi", "travel", "entertainment", "general")
COST_CENTRES = ("CC-100", "CC-200")
EMPLOYEE = "E201"
MAX_RECEIVES = 5  # infra/resources.py: the posting queue's maxReceiveCount
START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class FakeSecrets:
    def __init__(self, value: dict) -> None:
        self.value = json.dumps(value)

    def get_secret_value(self, SecretId: str) -> dict:  # noqa: N803 (boto3's keyword)
        return {"SecretString": self.value}

    def put_secret_value(self, SecretId: str, SecretString: str) -> None:  # noqa: N803
        self.value = SecretString


@dataclass
class Vendor:
    """One ledger's fake, its credentials, how to inject a fault on its writes, and the documents it holds as
    (external id, HKD total) pairs."""

    fake: Any
    credentials: dict
    write_method: str
    documents: Callable[[Any], list[tuple[str, Decimal]]]
    holds_net: bool = True  # the document's amount is what the employee is owed (a claim's advance taken off)


def _xero() -> Vendor:
    from tests.ledger_fakes.xero import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeXero

    return Vendor(FakeXero(), {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                               "config": {"tenant_id": TENANT_ID},
                               "tokens": {"access_token": "access-0", "refresh_token": "refresh-0",
                                          "expires_at": START + timedelta(minutes=30)}},
                  "PUT", lambda f: [(i["InvoiceNumber"], Decimal(str(i["Total"]))) for i in f.invoices.values()])


def _quickbooks() -> Vendor:
    from tests.ledger_fakes.quickbooks import CLIENT_ID, CLIENT_SECRET, REALM, FakeQuickBooks

    config = {"realm_id": REALM, "expense_accounts": {"meals": "58", "taxi": "59", "travel": "60"},
              "default_account": "61", "rounding_account": "62", "ap_account": "33", "vendor_ids": {EMPLOYEE: "71"},
              "advances_account": "125", "employee_receivable_account": "126",
              "class_ids": {"CC-100": "5000000000000012345", "CC-200": "5000000000000012346"}}
    return Vendor(FakeQuickBooks(), {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "config": config,
                                     "tokens": {"access_token": "qbo-access-0", "refresh_token": "qbo-refresh-0",
                                                "expires_at": START + timedelta(minutes=60)}},
                  "POST", lambda f: [(b["DocNumber"], Decimal(str(b["TotalAmt"]))) for b in f.bills.values()])


def _netsuite() -> Vendor:
    from tests.ledger_fakes.netsuite import ACCOUNT_ID, CERTIFICATE_ID, CLIENT_ID, FakeNetSuite, private_key_pem

    config = {"account_id": ACCOUNT_ID, "subsidiary_id": "3", "employee_ids": {EMPLOYEE: "1201"},
              "vendor_ids": {EMPLOYEE: "2201"}, "expense_categories": {"meals": "5", "taxi": "6"},
              "expense_accounts": {"meals": "611", "taxi": "613", "travel": "612"}, "default_account": "619",
              "rounding_account": "695", "department_ids": {"CC-100": "11", "CC-200": "12"},
              "currency_ids": {code: str(i) for i, code in enumerate(CURRENCIES, start=1)}}
    return Vendor(FakeNetSuite(upsert=False), {"client_id": CLIENT_ID, "certificate_id": CERTIFICATE_ID,
                                               "private_key_pem": private_key_pem().decode(), "config": config},
                  "PUT", lambda f: [(r["externalId"], Decimal(str(r["total"])))
                                    for r in f.records["expenseReport"].values()],
                  holds_net=False)  # the report's total is the claim's; the advance applied is its own field


def _yonyou() -> Vendor:
    from tests.ledger_fakes.yonyou import ACCBOOK, APP_KEY, APP_SECRET, GATEWAY, TOKEN_URL, VOUCHER_TYPE, FakeYonyou

    payable = "224101"
    config = {"gateway_url": GATEWAY, "token_url": TOKEN_URL, "accbook_code": ACCBOOK,
              "voucher_type_code": VOUCHER_TYPE, "maker_mobile": "85291234567",
              "expense_accounts": {"meals": "660201", "taxi": "660203", "travel": "660204"},
              "default_account": "660299", "payable_account": payable, "rounding_account": "660301",
              "department_codes": {"CC-100": "D100", "CC-200": "D200"},
              "advances_account": "122101", "employee_receivable_account": "122102"}
    return Vendor(FakeYonyou(), {"client_id": APP_KEY, "app_secret": APP_SECRET, "config": config}, "POST",
                  lambda f: [(v["externalSourceDataId"],
                              sum((Decimal(str(b["creditOrg"])) for b in v["bodies"]
                                   if b["accsubjectCode"] == payable and b.get("creditOrg")), Decimal(0)))
                             for v in f.vouchers.values()])


#: ledger name (Policy.ledger) -> its fake
LEDGERS: dict[str, Callable[[], Vendor]] = {"xero": _xero, "quickbooks": _quickbooks, "netsuite": _netsuite,
                                            "yonyou": _yonyou}


def rate_table(rng: random.Random) -> dict[tuple[str, date], Decimal]:
    """A dated rate per foreign currency per day of November 2026, drifting a little each day."""
    table = {}
    for currency, base in CURRENCIES.items():
        if base is None:
            continue
        rate = Decimal(base)
        for day in range(1, 31):
            rate = (rate * Decimal(1 + rng.uniform(-0.003, 0.003))).quantize(Decimal("0.000001"))
            table[(currency, date(2026, 11, day))] = rate
    return table


def make_claims(n: int, rng: random.Random, now: datetime) -> list[Claim]:
    claims = []
    for i in range(n):
        expenses = []
        for j in range(rng.randint(1, 4)):
            currency = rng.choice(list(CURRENCIES))
            places = MINOR_UNITS[currency]
            amount = (Decimal(rng.randint(1, 5_000_00)) / 100).quantize(Decimal(1).scaleb(-places))
            if amount <= 0:
                amount = Decimal(1)
            expenses.append(Expense(expense_id=f"e-{i}-{j}", employee_id=EMPLOYEE, status="extracted",
                                    vendor=f"Vendor {j}", receipt_date=date(2026, 11, rng.randint(1, 29)),
                                    total=Money(amount=amount, currency=currency), category=rng.choice(CATEGORIES),
                                    cost_centre=rng.choice(COST_CENTRES), created_at=now, updated_at=now))
        claims.append(Claim(claim_id=f"c-bench-{i:04d}", employee_id=EMPLOYEE, department_id="D-OPS",
                            cost_centre=COST_CENTRES[0], status=ClaimStatus.APPROVED, expenses=expenses,
                            created_at=now, updated_at=now, advance_id=f"a-{i:04x}" if i % 10 == 3 else None))
    return claims


def paid_advance(claim: Claim, claim_hkd: Decimal, rng: random.Random, now: datetime) -> Advance:
    """The cash advance a claim settles, paid before the trip: 30% to 150% of what the claim comes to."""
    amount = (claim_hkd * Decimal(str(rng.uniform(0.3, 1.5)))).quantize(Decimal("0.01"))
    return Advance(advance_id=claim.advance_id, employee_id=EMPLOYEE, department_id="D-OPS",
                   amount=Money(amount=amount, currency="HKD"), purpose="trip float", status=AdvanceStatus.PAID,
                   created_at=now, updated_at=now, paid_at=now, paid_by="E300", payment_reference="FPS-bench",
                   paid_hkd=Money(amount=amount, currency="HKD"))


def independent_hkd(claim: Claim, rates: dict[tuple[str, date], Decimal]) -> Decimal:
    """The claim's HKD total from the claim and the rate table alone (not through the code under test)."""
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for e in claim.expenses:
        rate = Decimal(1) if e.total.currency == "HKD" else rates[(e.total.currency, e.receipt_date)]
        groups[(e.total.currency, rate)] = groups.get((e.total.currency, rate), Decimal(0)) + e.total.amount
    return sum(((amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                for (_, rate), amount in groups.items()), Decimal(0))


@dataclass
class Result:
    posted: int = 0
    advances: Counter = field(default_factory=Counter)  # settled: pay | recover | exact; unsettled
    failures: Counter = field(default_factory=Counter)
    dead_lettered: int = 0
    deliveries: int = 0
    redeliveries: int = 0
    injected: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def run(name: str, n: int, seed: int) -> tuple[Result, int, Decimal]:
    from tests.fakes import bootstrap_fakes

    rng = random.Random(seed)
    app = bootstrap_fakes()
    clock = FakeClock()
    app.directory.put_policy(app.directory.policy().model_copy(update={"ledger": name}))
    vendor = LEDGERS[name]()
    table = rate_table(rng)
    rates = MemoryRateStore([FxRate(currency=c, rate_date=d, hkd_per_unit=r, source="HKMA er-eeri-daily",
                                    loaded_by="bench", loaded_at=START) for (c, d), r in table.items()])
    wiring = LedgerWiring(journal=None, secretsmanager=FakeSecrets({name: json.loads(json.dumps(
        vendor.credentials, default=str))}), secret_id="ledger-credentials",  # noqa: S106 (a name)
        session=vendor.fake.session(),
        policy=RetryPolicy(max_attempts=5), sleep=clock.sleep, clock=clock)
    adapter = ledger_adapter(name, wiring)  # built once per container, as bootstrap does
    ctx = posting.PostingContext(claims=app.claims, directory=app.directory, records=MemoryPostingRecords(),
                                 rates=rates, ledger_for=lambda _: adapter, now=clock, advances=app.advances)
    claims = make_claims(n, rng, clock())
    for claim in claims:
        app.claims.create(claim, SYSTEM)
        if claim.advance_id:
            app.advances.create(paid_advance(claim, independent_hkd(claim, table), rng, clock()), SYSTEM,
                                "advance.paid")
    queue = [(c.claim_id, 1) for c in claims]
    queue += [(c.claim_id, 1) for c in claims if rng.random() < 0.05]  # at-least-once: delivered twice
    rng.shuffle(queue)
    result = Result()
    started = time.perf_counter()
    while queue:
        claim_id, receive = queue.pop(0)
        result.deliveries += 1
        roll = rng.random()
        if roll < 0.06:
            vendor.fake.inject("429", method=vendor.write_method, retry_after=str(rng.randint(1, 5)))
            result.injected["429"] += 1
        elif roll < 0.09:
            vendor.fake.inject("500", method=vendor.write_method, times=rng.randint(1, 6))
            result.injected["500"] += 1
        elif roll < 0.13:
            vendor.fake.inject("timeout_after_write", method=vendor.write_method)
            result.injected["timeout_after_write"] += 1
        elif roll < 0.135:
            vendor.fake.inject("validation", method=vendor.write_method)
            result.injected["validation"] += 1
        try:
            posting.post(ctx, claim_id, "2026-11")
        except LedgerError as e:
            if not e.retryable:
                raise
            if receive >= MAX_RECEIVES:
                result.dead_lettered += 1
            else:
                result.redeliveries += 1
                queue.append((claim_id, receive + 1))
        finally:
            vendor.fake.faults.clear()  # a fault not consumed by this message does not leak into the next
        clock.sleep(0.05)
    result.seconds = time.perf_counter() - started
    by_claim = {c.claim_id: c for c in claims}
    documents = vendor.documents(vendor.fake)
    duplicates = len(documents) - len({doc_id for doc_id, _ in documents})
    held = sum((total for _, total in documents), Decimal(0))
    posted_ids = {doc_id for doc_id, _ in documents}

    def expected_held(claim: Claim) -> Decimal:
        total = independent_hkd(claim, table)
        if not (claim.advance_id and vendor.holds_net):
            return total
        return max(total - app.advances.get(claim.advance_id).paid_hkd.amount, Decimal(0))

    expected = sum((expected_held(by_claim[c]) for c in posted_ids), Decimal(0))
    for claim in (app.claims.get(c.claim_id) for c in claims):
        if claim.status == ClaimStatus.POSTED:
            result.posted += 1
            if claim.external_document_id is None:
                raise AssertionError(f"{claim.claim_id} posted without its document")
            if claim.advance_id:
                advance = app.advances.get(claim.advance_id)
                settled = advance.settlement if advance.settled_claim_id == claim.claim_id else None
                result.advances[settled.outcome if settled else "unsettled"] += 1
        elif claim.status == ClaimStatus.POSTING_FAILED:
            result.failures[claim.posting_error.split(": ", 1)[-1][:120]] += 1
    return result, duplicates, held - expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--ledger", action="append", choices=sorted(LEDGERS))
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the adapters log each wait and lookup: thousands of lines here
    ok = True
    for name in args.ledger or list(LEDGERS):
        result, duplicates, variance = run(name, args.claims, args.seed)
        failed = sum(result.failures.values())
        print(f"{name}.claims: {args.claims}")
        print(f"{name}.deliveries: {result.deliveries} (redelivered after a retryable failure: "
              f"{result.redeliveries})")
        print(f"{name}.injected: " + ", ".join(f"{k} {v}" for k, v in sorted(result.injected.items())))
        print(f"{name}.posted: {result.posted}")
        print(f"{name}.duplicates: {duplicates}")
        print(f"{name}.failures: {failed}" + "".join(f"\n{name}.failure_reason: {count} x {reason}"
                                                      for reason, count in result.failures.most_common()))
        print(f"{name}.dead_lettered: {result.dead_lettered}")
        print(f"{name}.advances_offset: {sum(result.advances.values())} ("
              + ", ".join(f"{k} {v}" for k, v in sorted(result.advances.items())) + ")")
        print(f"{name}.hkd_variance: {variance:.2f} HKD")
        print(f"{name}.postings_per_s: {result.posted / result.seconds:.1f} postings/s")
        ok = (ok and duplicates == 0 and variance == 0 and not result.advances["unsettled"]
              and result.posted + failed + result.dead_lettered == args.claims)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
