"""The model's findings in words (English / 繁中): the one or two features that made an expense unusual, said with
the numbers behind them ("HK$4,800 is 6× this employee's usual dinner (HK$800)"), never a feature's name."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.domain.anomaly.features import Explained
from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.anomaly.words import category_zh, hk

RULE = "unusual_for_company"
#: What a company without enough history gets instead of a model (said on the claim's audit record).
RULES_ONLY = ("too little history to model this company; rules only / 歷史記錄不足，只用規則")

_KIND_EN = {"meals:lunch": "lunch", "meals:dinner": "dinner", "meals": "meal", "taxi": "taxi fare",
            "travel": "travel expense", "entertainment": "entertainment bill", "general": "purchase"}
_KIND_ZH = {"meals:lunch": "午餐", "meals:dinner": "晚餐", "meals": "膳食", "taxi": "的士車費", "travel": "差旅開支",
            "entertainment": "應酬開支", "general": "購物"}


def hk_zh(amount: Decimal) -> str:
    """港幣4,800元 / 港幣4,800.50元."""
    q = amount.quantize(Decimal("0.01"))
    return f"港幣{q:,.0f}元" if q == q.to_integral_value() else f"港幣{q:,}元"


def _times(ratio: Decimal) -> str:
    """A ratio of two Decimal amounts, said as people say it (6×, 1.5×)."""
    return f"{ratio:.0f}×" if ratio >= 3 else f"{ratio:.1f}×"


def _kind(row: SpendRecord) -> tuple[str, str]:
    from chalicelib.domain.anomaly.features import slot

    s = slot(row)
    return _KIND_EN.get(s, row.category), _KIND_ZH.get(s, category_zh(row.category))


def phrase(feature: str, row: SpendRecord, why: Explained) -> tuple[str, str] | None:
    """One feature in words, or None when its numbers cannot be said (then it is not offered as a reason)."""
    amount = row.total_hkd
    en_kind, zh_kind = _kind(row)
    if feature == "amount_vs_employee" and amount is not None and why.employee_usual_hkd:
        r = amount / why.employee_usual_hkd
        return (f"{hk(amount)} is {_times(r)} this employee's usual {en_kind} ({hk(why.employee_usual_hkd)})",
                f"{hk_zh(amount)}是此員工一般{zh_kind}（{hk_zh(why.employee_usual_hkd)}）的{_times(r).rstrip('×')}倍")
    if feature in ("amount_vs_company", "amount_vs_employee") and amount is not None and why.company_usual_hkd:
        r = amount / why.company_usual_hkd
        return (f"{hk(amount)} is {_times(r)} the company's usual {en_kind} ({hk(why.company_usual_hkd)})",
                f"{hk_zh(amount)}是公司一般{zh_kind}（{hk_zh(why.company_usual_hkd)}）的{_times(r).rstrip('×')}倍")
    if feature == "amount_vs_vendor" and amount is not None and why.vendor_usual_hkd and row.vendor:
        r = amount / why.vendor_usual_hkd
        return (f"{hk(amount)} is {_times(r)} the company's usual bill at {row.vendor} ({hk(why.vendor_usual_hkd)})",
                f"{hk_zh(amount)}是公司在「{row.vendor}」一般消費（{hk_zh(why.vendor_usual_hkd)}）的"
                f"{_times(r).rstrip('×')}倍")
    if feature in ("per_head_vs_company", "attendees") and row.per_head_hkd is not None and why.company_per_head_hkd:
        heads = row.attendees or 1
        r = row.per_head_hkd / why.company_per_head_hkd
        return (f"{hk(row.per_head_hkd)} a head for {heads} people is {_times(r)} the company's usual "
                f"{hk(why.company_per_head_hkd)} a head",
                f"{heads}人每人{hk_zh(row.per_head_hkd)}，是公司一般每人{hk_zh(why.company_per_head_hkd)}的"
                f"{_times(r).rstrip('×')}倍")
    if feature in ("vendor_rarity", "new_vendor_for_employee") and row.vendor:
        if why.vendor_seen == 0:
            return (f"nobody in the company has claimed at {row.vendor} before",
                    f"公司從未有人在「{row.vendor}」報銷")
        if why.employee_vendor_seen == 0:
            return (f"this employee's first claim at {row.vendor} (the company: {why.vendor_seen} before)",
                    f"此員工首次在「{row.vendor}」報銷（公司以往 {why.vendor_seen} 次）")
        return None
    if feature in ("hour_sin", "hour_cos", "hour_unusual") and row.receipt_time is not None:
        at = f"{row.receipt_time:%H:%M}"
        if why.nearest_usual_hour is not None:
            h = int(why.nearest_usual_hour)
            near = f"{h:02d}:{int(round((why.nearest_usual_hour - h) * 60)) % 60:02d}"
            return (f"paid at {at}; this employee's {en_kind} times so far come no nearer than {near}",
                    f"於{at}付款；此員工以往的{zh_kind}時間最接近的是{near}")
        return f"paid at {at}, an unusual hour for a {en_kind}", f"於{at}付款，{zh_kind}少見的時間"
    if feature in ("weekday_sin", "weekday_cos") and row.receipt_date is not None:
        return (f"spent on a {row.receipt_date:%A}, unusual for this company",
                f"在星期{'一二三四五六日'[row.receipt_date.weekday()]}消費，公司少見")
    if feature == "lag_days" and why.lag_days is not None:
        return (f"submitted {why.lag_days} days after the receipt date",
                f"收據日期後 {why.lag_days} 日才申報")
    if feature == "distance_km" and why.nearest_km is not None:
        from chalicelib.domain.anomaly.features import place

        usual = ", ".join(why.usual_places[:3])
        return (f"spent in {place(row)}, {why.nearest_km:.0f} km from this employee's usual places ({usual})",
                f"在{place(row)}消費，距離此員工常去的地方（{usual}）{why.nearest_km:.0f}公里")
    return None


def reason(features: list[str], row: SpendRecord, why: Explained) -> str | None:
    """The first one or two features that can be said, as one finding's reason "EN / 繁中"."""
    said: list[tuple[str, str]] = []
    for f in features:
        p = phrase(f, row, why)
        if p and p not in said:
            said.append(p)
        if len(said) == 2:
            break
    if not said:
        return None
    en = "; ".join(p[0] for p in said)
    zh = "；".join(p[1] for p in said)
    return f"unusual for this company: {en} / 與公司慣常不同：{zh}"
