"""How the rules write amounts, dates and categories in their reasons (English / 繁中): numbers in words a person
reads, never internal ids only."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.anomaly.findings import hk

__all__ = ["category_zh", "day_en", "day_zh", "hk", "month_en"]

_CATEGORY_ZH = {"meals": "膳食", "entertainment": "應酬", "taxi": "的士", "travel": "差旅", "general": "一般"}
_WEEKDAY_ZH = "一二三四五六日"


def category_zh(category: str) -> str:
    return _CATEGORY_ZH.get(category, category)


def day_en(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def day_zh(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAY_ZH[day.weekday()]}）"


def month_en(year: int, month: int) -> str:
    return f"{date(year, month, 1):%B %Y}"
