"""Threshold splitting: spend cut into pieces that each stay just under an approval threshold. Either one person's
claims a few days apart at the same vendor, each just under it, together over it; or people travelling together
each claiming a just-under share of one travel bill (same vendor, a day apart at most). Only the later pieces can
be seen: the first one had nothing beside it yet.

Why the same vendor: two unrelated claims that happen to land just under HK$5,000 the same week are common
(a dinner, a trip); one purchase cut into invoices, or one hotel bill cut into shares, keeps its vendor."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.history import History, main_vendor
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
    thresholds = policy.approval_thresholds_hkd({r.category for r in rows})
    margin, window = policy.split_margin, policy.split_window_days
    total = sum((r.total_hkd for r in rows if r.total_hkd is not None), Decimal("0"))
    me, at = rows[0].employee_id, rows[0].submitted_at
    threshold = _just_under(total, thresholds, margin)
    if threshold is None:
        return []
    mine = main_vendor(rows)
    near = [c for c in history.claims_of(me) if c.claim_id != rows[0].claim_id
            and abs(c.submitted_at - at) <= timedelta(days=window)
            and _just_under(c.total_hkd, thresholds, margin) == threshold
            and mine is not None and vendors.same_vendor(mine, c.main_vendor)]
    if near and total + sum(c.total_hkd for c in near) > threshold:
        together = total + sum(c.total_hkd for c in near)
        n = len(near) + 1
        en = (f"split claim: {n} claims of {hk(total)} or so within {window} days, each just under the "
              f"{hk(threshold)} approval threshold, {hk(together)} together")
        zh = f"疑似拆單：{window} 日內 {n} 張申報，每張略低於 {hk(threshold)} 審批門檻，合共 {hk(together)}"
        return [Finding(0.6, f"{en} / {zh}", "threshold_split")]
    for r in rows:
        if r.total_hkd is None or r.receipt_date is None or not r.vendor or r.category != "travel" \
                or _just_under(r.total_hkd, thresholds, margin) != threshold:
            continue  # the shared bill is the bulk of the claim, each share just under the threshold
        others = [o for d in (-1, 0, 1) for o in history.on_day(r.receipt_date + timedelta(days=d))
                  if o.employee_id != me and o.total_hkd is not None and o.category == r.category
                  and _just_under(o.total_hkd, thresholds, margin) == threshold
                  and _just_under(history.claim_total(o.claim_id), thresholds, margin) == threshold
                  and vendors.same_vendor(r.vendor, o.vendor)]
        if others:
            people = len({o.employee_id for o in others}) + 1
            together = total + sum(history.claim_total(c) for c in {o.claim_id for o in others})
            en = (f"split bill: {people} colleagues travelling together each claimed just under the {hk(threshold)} "
                  f"approval threshold for {r.vendor} on {r.receipt_date}, {hk(together)} together")
            zh = (f"疑似拆單：{people} 位同行同事各就 {r.vendor}（{r.receipt_date}）申報略低於 {hk(threshold)} "
                  f"審批門檻的金額，合共 {hk(together)}")
            return [Finding(0.6, f"{en} / {zh}", "threshold_split")]
    return []
