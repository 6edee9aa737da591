"""Rows, histories and a company directory for the anomaly rule tests, written the short way."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time

from chalicelib.domain.anomaly import Finding, History, SpendRecord, VendorResolver, assess_claim
from chalicelib.domain.money import DEFAULT_FX, Money
from chalicelib.domain.policy import Policy
from chalicelib.domain.vendors import seed_directory

_ids = itertools.count(1)
SUBMITTED = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # Monday 10 March 2025, 10:00 in Hong Kong


def row(amount: str = "90.00", currency: str = "HKD", *, claim: str | None = None, who: str = "E1",
        vendor: str = "翠華餐廳 Tsui Wah Restaurant", day: date = date(2025, 3, 4), category: str = "meals",
        submitted: datetime = SUBMITTED, **fields: object) -> SpendRecord:
    """HK$90 at Tsui Wah on Tuesday 4 March 2025, by E1 (rank 2, cost centre CC1), unless told otherwise."""
    n = next(_ids)
    money = Money.of(amount, currency)
    data: dict = dict(expense_id=f"e-{n}", claim_id=claim or f"c-{n}", employee_id=who, submitted_at=submitted,
                      category=category, vendor=vendor, receipt_date=day, total=money,
                      total_hkd=DEFAULT_FX.to_hkd(money).amount, rank=2, cost_centre="CC1", department_id="D1",
                      receipt_no=f"R{100000 + n}", evidence_key=f"sha-{n}", city="Hong Kong", receipt_time=time(13, 0))
    data.update(fields)
    return SpendRecord(**data)


def rules_fired(rows: list[SpendRecord], seen: list[SpendRecord] = (), policy: Policy | None = None,
                vendors: VendorResolver | None = None) -> dict[str, list[Finding]]:
    """{rule code: findings} over the claim `rows` against a history of `seen`."""
    found = assess_claim(rows, History(seen), policy or Policy(), vendors or VendorResolver(seed_directory()))
    out: dict[str, list[Finding]] = {}
    for findings in found.values():
        for f in findings:
            out.setdefault(f.rule, []).append(f)
    return out


def partners(*entries: tuple[str, str]) -> VendorResolver:
    """The seed directory with finance's approved suppliers: (vendor id, category) pairs."""
    seed = seed_directory()
    extra = [seed.get(vid).model_copy(update={"partner_for": (cat,), "source": "finance"}) for vid, cat in entries]
    return VendorResolver(seed.with_entries(extra))
