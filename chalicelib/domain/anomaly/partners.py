"""Non-partner vendor: in a category where the company's vendor directory names approved suppliers
(`Vendor.partner_for`), a receipt from anyone else. A first-time vendor in a category without approved suppliers
is not suspicious for being new."""

from __future__ import annotations

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.records import SpendRecord, VendorResolver
from chalicelib.domain.anomaly.words import category_zh


def non_partner(record: SpendRecord, vendors: VendorResolver) -> list[Finding]:
    if record.kind != "receipt" or not record.vendor or record.category not in vendors.partner_categories:
        return []
    resolved = vendors.resolve(record.vendor)
    if resolved.vendor is not None and record.category in resolved.vendor.partner_for:
        return []
    approved = [v.conventional_name() for v in vendors.directory.vendors if record.category in v.partner_for]
    shown = "、".join(approved[:3]) + ("…" if len(approved) > 3 else "")
    c, zh = record.category, category_zh(record.category)
    return [Finding(0.5, f"non-partner vendor: {record.vendor} is not an approved {c} supplier (approved: {shown}) / "
                         f"非合作商戶：{record.vendor} 不是核准的「{zh}」供應商（核准：{shown}）", "non_partner")]
