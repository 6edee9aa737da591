"""When the spend happened: on a weekend or public holiday where policy forbids it, long before the claim, or a
taxi in the small hours of a working day in a city where the claimant also has a hotel bill."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

import holidays

from chalicelib.domain.anomaly.findings import Finding
from chalicelib.domain.anomaly.history import History
from chalicelib.domain.anomaly.records import SpendRecord, VendorResolver
from chalicelib.domain.anomaly.words import category_zh, day_en, day_zh, hk
from chalicelib.domain.policy import Policy

_HOTEL = re.compile(r"hotel|hostel|resort|\binn\b|酒店|賓館|宾馆|旅館|旅馆|飯店|饭店")
#: A hotel bill is dated at check-out and covers the nights before it: a taxi up to this many days before it (or
#: on the day after) falls within the stay.
STAY_DAYS_BEFORE = 14


@functools.lru_cache(maxsize=8)
def _calendar(country: str, language: str | None = None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, language=language)


def holiday_name(day: date, country: str) -> tuple[str, str] | None:
    """The public holiday on `day` in English and 繁中, or None."""
    en = _calendar(country).get(day)
    if en is None:
        return None
    try:
        zh = _calendar(country, "zh_HK").get(day) or en
    except (NotImplementedError, KeyError, ValueError):  # a country without a Chinese calendar
        zh = en
    return en, zh


def weekend_holiday(record: SpendRecord, policy: Policy) -> list[Finding]:
    day = record.receipt_date
    if (not policy.forbid_weekend_holiday_spend or day is None or record.kind != "receipt"
            or record.category in policy.weekend_holiday_allowed_categories):
        return []
    holiday = holiday_name(day, policy.holiday_country)
    if holiday is None and day.weekday() < 5:
        return []
    what_en, what_zh = holiday if holiday else (f"a {day:%A}", "週末")
    amount = hk(record.total_hkd) if record.total_hkd is not None else "spend"
    c = record.category
    en = (f"weekend or holiday spend: {amount} of {c} on {day_en(day)} ({what_en}); policy allows no {c} spend on "
          "weekends or public holidays")
    zh = f"假日消費：{day_zh(day)}（{what_zh}）的「{category_zh(c)}」{amount}；政策不准於週末或公眾假期消費"
    return [Finding(0.4, f"{en} / {zh}", "weekend_holiday")]


def stale_receipt(record: SpendRecord, policy: Policy) -> list[Finding]:
    if record.receipt_date is None:
        return []
    submitted = record.submitted_at.date()
    age = (submitted - record.receipt_date).days
    if age <= policy.receipt_max_age_days:
        return []
    return [Finding(0.4, f"old receipt: dated {record.receipt_date}, {age} days before the claim was submitted on "
                         f"{submitted}; policy allows {policy.receipt_max_age_days} days / 逾期收據：收據日期 "
                         f"{record.receipt_date}，於 {age} 日後（{submitted}）才申報，政策上限為 "
                         f"{policy.receipt_max_age_days} 日", "stale_receipt")]


def is_hotel(vendor: str | None) -> bool:
    return bool(vendor) and bool(_HOTEL.search(unicodedata.normalize("NFKC", vendor).casefold()))


def _hotel(name: str | None, vendors: VendorResolver | None) -> bool:
    """A hotel by its printed name, or by any name of the directory vendor it resolves to."""
    if is_hotel(name):
        return True
    found = vendors.resolve(name).vendor if vendors is not None and name else None
    return found is not None and any(is_hotel(n) for n in found.all_names())


def night_taxi(record: SpendRecord, claim_rows: list[SpendRecord], history: History, policy: Policy,
               vendors: VendorResolver | None = None) -> list[Finding]:
    start, end = policy.night_taxi_hours
    t, day = record.receipt_time, record.receipt_date
    if record.category != "taxi" or t is None or day is None or not (start <= t.hour < end):
        return []
    if day.weekday() >= 5 or holiday_name(day, policy.holiday_country):
        return []
    hotels = [r for r in [*claim_rows, *history.by_employee(record.employee_id)]
              if r.expense_id != record.expense_id and r.receipt_date
              and -1 <= (r.receipt_date - day).days <= STAY_DAYS_BEFORE
              and r.city == record.city and _hotel(r.vendor, vendors)]
    if not hotels:
        return []
    hotel = hotels[0]
    city = record.city or "the same city"
    amount = hk(record.total_hkd) if record.total_hkd is not None else "a taxi"
    return [Finding(0.5, f"night taxi: {amount} taxi at {t:%H:%M} on {day_en(day)}, a working day, in {city}, where "
                         f"a hotel bill ({hotel.vendor}, {hotel.receipt_date}) was also claimed / 深夜的士："
                         f"{day_zh(day)}（工作日）{t:%H:%M} 於{city}乘的士 {amount}，同城亦有酒店帳單（{hotel.vendor}，"
                         f"{hotel.receipt_date}）", "night_taxi")]
