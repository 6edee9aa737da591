"""Suspiciously round amounts: a large total that is an exact multiple of a round step (HK$3,000.00), which a real
bill with its items and 10% service charge seldom is. Lines priced by policy (mileage, per diem) are round by
design and are not looked at."""

from __future__ import annotations

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.anomaly.words import hk
from chalicelib.domain.policy import Policy


def round_amount(record: SpendRecord, policy: Policy) -> list[Finding]:
    if record.kind not in ("receipt", "lost_receipt") or record.total is None or record.total_hkd is None:
        return []
    amount, step = record.total.amount, policy.round_amount_step_hkd
    if record.total_hkd < policy.round_amount_min_hkd or amount % step != 0:
        return []
    return [Finding(0.3, f"round amount: {hk(record.total_hkd)} is an exact multiple of {hk(step)}, which a real bill "
                         f"seldom is / 整數金額：{hk(record.total_hkd)} 剛好是 {hk(step)} 的倍數，真實帳單甚少如此",
                    "round_amount")]
