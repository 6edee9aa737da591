"""Over a spending limit: the company-wide limit of a category, or, where finance set them, the per-head limit of
the claimant's rank (a director's client dinner is not a clerk's lunch)."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.anomaly.words import category_zh, hk
from chalicelib.domain.policy import Policy


def over_limit(record: SpendRecord, policy: Policy) -> list[Finding]:
    if record.total_hkd is None:
        return []
    heads = record.attendees or 1
    per_head = record.per_head_hkd
    by_rank = policy.category_limits_by_rank_hkd.get(record.category)
    if by_rank and record.rank is not None and record.rank in by_rank:
        limit = by_rank[record.rank]
        if per_head <= limit:
            return []
        c, zh = record.category, category_zh(record.category)
        if heads > 1:
            en = (f"{hk(per_head)} a head ({heads} people, {hk(record.total_hkd)} in all) is over the {c} limit of "
                  f"{hk(limit)} a head for rank {record.rank}")
            zh_text = (f"每人 {hk(per_head)}（共 {heads} 人，合共 {hk(record.total_hkd)}）超過職級 {record.rank} 的"
                       f"「{zh}」每人上限 {hk(limit)}")
        else:
            en = f"{hk(per_head)} is over the {c} limit of {hk(limit)} a head for rank {record.rank}"
            zh_text = f"{hk(per_head)} 超過職級 {record.rank} 的「{zh}」每人上限 {hk(limit)}"
        return [Finding(0.6, f"over limit: {en} / 超出限額：{zh_text}", "over_limit")]
    limit = policy.category_limits_hkd.get(record.category, policy.category_limits_hkd.get("general"))
    if limit is None or per_head <= limit:
        return []
    # the wording the approval page reads back as data (services.approvals.review._OVER): keep it as it is
    per_head = per_head.quantize(Decimal("0.01"))
    each = f" a head ({heads} people)" if heads > 1 else ""
    each_zh = f"（每人，共 {heads} 人）" if heads > 1 else ""
    return [Finding(0.6, f"over limit: HKD {per_head:,}{each} exceeds the {record.category} limit of "
                         f"HKD {limit:,} / 超出限額：港幣 {per_head:,}{each_zh}超過「{record.category}」"
                         f"上限港幣 {limit:,}", "over_limit")]
