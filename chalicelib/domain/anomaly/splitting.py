"""Threshold splitting: spend cut into pieces that each stay just under an approval threshold. Either one person's
claims a few days apart, each just under it, together over it; or people travelling together each claiming a
just-under share of one vendor's bill. Only the later pieces can be seen: the first one had nothing beside it yet."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.history import History
from chalicelib.domain.anomaly.records import SpendRecord, VendorResolver
from chalicelib.domain.anomaly.words import hk
from chalicelib.domain.policy import Policy


def _just_under(amount: Decimal, thresholds: list[Decimal], margin: Decimal) -> Decimal | None:
    return next((t for t in thresholds if t * (1 - margin) <= amount <= t), None)


def split_claims(rows: list[SpendRecord], history: History, vendors: VendorResolver,
                 policy: Policy) -> list[Finding]:
    """Findings about the claim as a whole (the service hangs them on its largest expense)."""
    if not rows:
        return []
    thresholds, margin, window = policy.approval_thresholds_hkd(), policy.split_margin, policy.split_window_days
    total = sum((r.total_hkd for r in rows if r.total_hkd is not None), Decimal("0"))
    me, at = rows[0].employee_id, rows[0].submitted_at
    threshold = _just_under(total, thresholds, margin)
    if threshold is not None:
        near = [c for c in history.claims_of(me) if c.claim_id != rows[0].claim_id
                and abs(c.submitted_at - at) <= timedelta(days=window)
                and _just_under(c.total_hkd, thresholds, margin) == threshold]
        if near and total + sum(c.total_hkd for c in near) > threshold:
            together = total + sum(c.total_hkd for c in near)
            n = len(near) + 1
            en = (f"split claim: {n} claims of {hk(total)} or so within {window} days, each just under the "
                  f"{hk(threshold)} approval threshold, {hk(together)} together")
            zh = f"疑似拆單：{window} 日內 {n} 張申報，每張略低於 {hk(threshold)} 審批門檻，合共 {hk(together)}"
            return [Finding(0.6, f"{en} / {zh}", "threshold_split")]
    for r in rows:
        if r.total_hkd is None or r.receipt_date is None or not r.vendor:
            continue
        threshold = _just_under(r.total_hkd, thresholds, margin)
        if threshold is None:
            continue
        others = [o for d in range(-window, window + 1) for o in history.on_day(r.receipt_date + timedelta(days=d))
                  if o.employee_id != me and o.total_hkd is not None
                  and _just_under(o.total_hkd, thresholds, margin) == threshold
                  and vendors.same_vendor(r.vendor, o.vendor)]
        if others:
            people = len({o.employee_id for o in others}) + 1
            together = r.total_hkd + sum(o.total_hkd for o in others)
            en = (f"split bill: {people} colleagues each claimed just under the {hk(threshold)} approval threshold "
                  f"at {r.vendor} within {window} days, {hk(together)} together")
            zh = (f"疑似拆單：{people} 位同事於 {window} 日內在 {r.vendor} 各申報略低於 {hk(threshold)} "
                  f"審批門檻的金額，合共 {hk(together)}")
            return [Finding(0.6, f"{en} / {zh}", "threshold_split")]
    return []
