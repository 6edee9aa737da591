"""Suspiciously round amounts: a large total that is an exact multiple of a round step (HK$3,000.00), which a real
bill with its items and 10% service charge seldom is. Lines priced by policy (mileage, per diem) are round by
design and are not looked at, nor are fares and room rates (travel), which are priced in round numbers."""

from __future__ import annotations

import math
from decimal import Decimal

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.anomaly.words import hk
from chalicelib.domain.policy import Policy


def round_step(record: SpendRecord, policy: Policy) -> Decimal:
    """The step in the receipt's own currency: HK$100 is 100 in HKD, 10,000 in yen (whose bills end in 00 anyway)."""
    step = policy.round_amount_step_hkd
    if record.total.currency == "HKD" or not record.total.amount:
        return step
    rate = record.total_hkd / record.total.amount
    return Decimal(10) ** max(0, math.ceil(math.log10(step / rate)))


def round_amount(record: SpendRecord, policy: Policy) -> list[Finding]:
    if (record.kind not in ("receipt", "lost_receipt") or record.total is None or record.total_hkd is None
            or record.category in policy.round_amount_exempt_categories):
        return []
    amount, step = record.total.amount, round_step(record, policy)
    if record.total_hkd < policy.round_amount_min_hkd or amount % step != 0:
        return []
    shown = f"{record.total}" if record.total.currency != "HKD" else hk(record.total_hkd)
    unit = hk(step) if record.total.currency == "HKD" else f"{record.total.currency} {step:,}"
    return [Finding(0.3, f"round amount: {shown} is an exact multiple of {unit}, which a real bill seldom is / "
                         f"整數金額：{shown} 剛好是 {unit} 的倍數，真實帳單甚少如此",
                    "round_amount")]
