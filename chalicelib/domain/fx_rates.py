"""Dated exchange rates with their source, the company's rule for which one applies, and HKD conversion.

Why beside `money.FxTable` rather than replacing it: the fixed table has call sites in scoring and policy that
others are changing; this module is what posting switches to, so that every HKD amount sent to a ledger can say
which rate it used, of which day, from where and loaded by whom.

Rates are quoted as HKD per ONE unit of the foreign currency (USD 7.8, JPY 0.052), whatever the source quotes
(a feed quoting per 100 JPY is divided when parsed).

Rounding (documented once, here): an amount is converted at full precision and rounded once, ROUND_HALF_UP, to
HKD's ISO 4217 minor units (2). Original amounts must already be in their currency's minor units (JPY 0,
KWD 3): an amount with more decimals is refused, not silently rounded.

The rounding line: a claim's HKD total is each (currency, rate) group's original sum converted once; its lines
are each expense converted on its own. The two can differ by a few cents (three USD 0.13 lines at 7.8155 are
1.02 each = 3.06, while USD 0.39 is 3.05). The difference is booked to a rounding line on a configured account so
the lines add up to the total exactly, and the total is what the employee is owed.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.domain.currencies import MINOR_UNITS, UnknownCurrency, check_amount, check_currency
from chalicelib.domain.money import Money

BASE_CURRENCY = "HKD"
#: A rate older than this (days before the date asked for) is stale: the claim waits for a fresh one rather
#: than being valued at last month's rate without anybody noticing.
DEFAULT_MAX_AGE_DAYS = 7
RATE_PLACES = 10  # a rate is kept to at most 10 decimal places (Decimal arithmetic stays exact below 28 digits)
CSV_HEADER = ("currency", "date", "rate", "source")


class RateRule(StrEnum):
    """Which day's rate a company converts at."""

    RECEIPT_DATE = "receipt_date"  # the default: the rate on (or latest before) the day of the receipt
    MONTH_START = "month_start"  # the rate of the first day of the receipt's month (or latest before it)
    PAYMENT_DATE = "payment_date"  # the rate on the day the employee is paid


class FxRateError(LookupError):
    """No usable rate: the claim cannot be valued in HKD until finance loads one."""


class RateNotFound(FxRateError):
    def __init__(self, currency: str, on: date, rule: RateRule):
        super().__init__(f"no {currency} rate on or before {on.isoformat()} ({rule.value} rule): "
                         f"finance must load one")
        self.currency, self.on, self.rule = currency, on, rule


class StaleRate(FxRateError):
    def __init__(self, currency: str, on: date, latest: date, max_age_days: int, rule: RateRule):
        super().__init__(f"the latest {currency} rate is of {latest.isoformat()}, {(on - latest).days} days "
                         f"before {on.isoformat()} ({rule.value} rule); rates older than {max_age_days} days "
                         f"are not used: finance must load a newer one")
        self.currency, self.on, self.latest, self.max_age_days, self.rule = currency, on, latest, max_age_days, rule


class PaymentDateMissing(FxRateError):
    def __init__(self, currency: str):
        super().__init__(f"the company converts at the payment-date rate, but no payment date is known yet "
                         f"for the {currency} amounts")
        self.currency = currency


class TooManyDecimals(ValueError):
    def __init__(self, money: Money):
        places = MINOR_UNITS.get(money.currency, 2)
        super().__init__(f"{money.currency} {money.amount} has more decimals than {money.currency} allows ({places})")
        self.money = money


def _positive_rate(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError("a rate must not be a float; pass a Decimal or a string")
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"rate {value!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate {value} must be a positive number")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_UP):
        raise ValueError(f"rate {value} has more than {RATE_PLACES} decimal places")
    return rate


class FxRate(BaseModel):
    """One rate finance loaded (or a feed delivered): HKD per one unit of `currency` on `rate_date`."""

    model_config = ConfigDict(frozen=True)

    currency: str
    rate_date: date
    hkd_per_unit: Decimal
    source: str = Field(min_length=1, max_length=100)  # "HKMA daily", "HSBC board rate", "finance upload"
    loaded_by: str = Field(min_length=1, max_length=100)  # a user id, or the feed's name
    loaded_at: datetime

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = check_currency(value.strip().upper())
        if code == BASE_CURRENCY:
            raise ValueError("HKD is the base currency: it has no rate against itself")
        return code

    @field_validator("hkd_per_unit", mode="before")
    @classmethod
    def _rate(cls, value: object) -> Decimal:
        return _positive_rate(value)

    @field_validator("loaded_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("loaded_at must be timezone-aware")
        return value.astimezone(UTC)


class AppliedRate(BaseModel):
    """The rate a conversion used, as stored on an expense and carried into the posting."""

    model_config = ConfigDict(frozen=True)

    currency: str
    hkd_per_unit: Decimal
    rate_date: date
    source: str
    rule: RateRule
    wanted_date: date  # the day the rule asked for (the receipt date, the 1st of its month, the payment date)

    @classmethod
    def base(cls, on: date, rule: RateRule = RateRule.RECEIPT_DATE) -> AppliedRate:
        return cls(currency=BASE_CURRENCY, hkd_per_unit=Decimal(1), rate_date=on, source="base currency",
                   rule=rule, wanted_date=on)


def wanted_date(rule: RateRule, receipt_date: date, payment_date: date | None, currency: str) -> date:
    """The day whose rate the rule asks for."""
    if rule == RateRule.MONTH_START:
        return receipt_date.replace(day=1)
    if rule == RateRule.PAYMENT_DATE:
        if payment_date is None:
            raise PaymentDateMissing(currency)
        return payment_date
    return receipt_date


class RateBook:
    """Every loaded rate, answering "which rate applies to currency C under rule R".

    Two rates for the same currency and day: the one loaded last wins (a correction), and the rate it replaced
    is kept in `history` so an audit can see both."""

    def __init__(self, rates: Iterable[FxRate] = (), max_age_days: int = DEFAULT_MAX_AGE_DAYS):
        if max_age_days < 0:
            raise ValueError("max_age_days must not be negative")
        self.max_age_days = max_age_days
        self.history: list[FxRate] = []
        self._by_day: dict[tuple[str, date], FxRate] = {}
        self._days: dict[str, list[date]] = {}
        self.add(rates)

    def add(self, rates: Iterable[FxRate]) -> None:
        for rate in rates:
            self.history.append(rate)
            key = (rate.currency, rate.rate_date)
            held = self._by_day.get(key)
            if held is not None and held.loaded_at > rate.loaded_at:
                continue
            if held is None:
                days = self._days.setdefault(rate.currency, [])
                days.insert(bisect_right(days, rate.rate_date), rate.rate_date)
            self._by_day[key] = rate

    def latest_on_or_before(self, currency: str, on: date) -> FxRate | None:
        days = self._days.get(currency, [])
        i = bisect_right(days, on)
        return self._by_day[(currency, days[i - 1])] if i else None

    def rate_for(self, currency: str, receipt_date: date, rule: RateRule = RateRule.RECEIPT_DATE,
                 payment_date: date | None = None) -> AppliedRate:
        """The rate the company's rule applies, or an FxRateError saying what is missing."""
        currency = check_currency(currency)
        on = wanted_date(rule, receipt_date, payment_date, currency)
        if currency == BASE_CURRENCY:
            return AppliedRate.base(on, rule)
        found = self.latest_on_or_before(currency, on)
        if found is None:
            raise RateNotFound(currency, on, rule)
        if on - found.rate_date > timedelta(days=self.max_age_days):
            raise StaleRate(currency, on, found.rate_date, self.max_age_days, rule)
        return AppliedRate(currency=currency, hkd_per_unit=found.hkd_per_unit, rate_date=found.rate_date,
                           source=found.source, rule=rule, wanted_date=on)


# --- conversion ------------------------------------------------------------------------------------------------
def check_minor_units(money: Money) -> Money:
    """The amount itself, or TooManyDecimals (JPY 100.5, USD 1.005): a misread amount is not rounded away."""
    check_currency(money.currency)
    check_amount(money.amount)
    places = MINOR_UNITS[money.currency]
    if money.amount != money.amount.quantize(Decimal(1).scaleb(-places)):
        raise TooManyDecimals(money)
    return money


def round_hkd(amount: Decimal) -> Money:
    """HKD to the cent, ROUND_HALF_UP (0.005 -> 0.01, -0.005 -> -0.01): the one rounding every conversion uses."""
    return Money(amount=amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[BASE_CURRENCY]), rounding=ROUND_HALF_UP),
                 currency=BASE_CURRENCY)


def to_hkd(money: Money, rate: AppliedRate) -> Money:
    """`money` in HKD at `rate`, rounded once (see round_hkd)."""
    check_minor_units(money)
    if money.currency != rate.currency:
        raise ValueError(f"a {rate.currency} rate cannot convert {money.currency}")
    return round_hkd(money.amount * rate.hkd_per_unit)


class ConvertedLine(BaseModel):
    """One expense in HKD, with what it was converted from."""

    model_config = ConfigDict(frozen=True)

    key: str  # the expense id (or any caller's key)
    original: Money
    rate: AppliedRate
    hkd: Money


class Conversion(BaseModel):
    """A claim's lines in HKD, the rounding difference, and the total they add up to exactly."""

    model_config = ConfigDict(frozen=True)

    lines: list[ConvertedLine]
    rounding: Money  # total - sum(lines): zero for most claims, a few cents for some
    total: Money

    @property
    def lines_total(self) -> Money:
        return Money(amount=sum((line.hkd.amount for line in self.lines), Decimal(0)), currency=BASE_CURRENCY)


def convert(items: Sequence[tuple[str, Money, AppliedRate]]) -> Conversion:
    """Each item converted on its own, and the total converted once per (currency, rate): see the module
    docstring for why they differ and where the difference goes."""
    lines = [ConvertedLine(key=key, original=money, rate=rate, hkd=to_hkd(money, rate))
             for key, money, rate in items]
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        group = (line.original.currency, line.rate.hkd_per_unit)
        groups[group] = groups.get(group, Decimal(0)) + line.original.amount
    total = sum((round_hkd(amount * rate).amount for (_, rate), amount in groups.items()), Decimal(0))
    lines_total = sum((line.hkd.amount for line in lines), Decimal(0))
    return Conversion(lines=lines, rounding=Money(amount=total - lines_total, currency=BASE_CURRENCY),
                      total=Money(amount=total, currency=BASE_CURRENCY))


# --- loading: finance's CSV upload and a daily feed -----------------------------------------------------------
class RowError(BaseModel):
    """One refused row of an upload: its line number in the file (the header is line 1) and why."""

    line: int
    message: str


class RateUploadRejected(ValueError):
    """The upload had bad rows: nothing was loaded, and every bad row is listed so finance fixes them at once."""

    def __init__(self, errors: list[RowError]):
        shown = "; ".join(f"line {e.line}: {e.message}" for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"{len(errors)} row(s) refused, nothing loaded: {shown}{more}")
        self.errors = errors


def parse_rates_csv(text: str, loaded_by: str, loaded_at: datetime) -> list[FxRate]:
    """Finance's upload, header `currency,date,rate,source` (ISO dates, HKD per one unit).

    All or nothing: one bad row refuses the whole file with every bad row listed, so a half-loaded table never
    values claims at a mix of old and new rates."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != CSV_HEADER:
        raise RateUploadRejected([RowError(line=1, message=f"the header must be {','.join(CSV_HEADER)}, "
                                                           f"found {','.join(header or [])!r}")])
    rates: list[FxRate] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, date], int] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            errors.append(RowError(line=line, message=f"expected 4 columns, found {len(row)}"))
            continue
        currency, day, rate, source = (cell.strip() for cell in row)
        problems = _row_problems(currency, day, rate, source)
        if problems:
            errors.append(RowError(line=line, message="; ".join(problems)))
            continue
        key = (currency.upper(), date.fromisoformat(day))
        if key in seen:
            errors.append(RowError(line=line, message=f"{key[0]} {day} is also on line {seen[key]}"))
            continue
        seen[key] = line
        rates.append(FxRate(currency=currency, rate_date=key[1], hkd_per_unit=rate, source=source,
                            loaded_by=loaded_by, loaded_at=loaded_at))
    if errors:
        raise RateUploadRejected(errors)
    if not rates:
        raise RateUploadRejected([RowError(line=2, message="the file holds no rates")])
    return rates


def _row_problems(currency: str, day: str, rate: str, source: str) -> list[str]:
    problems = []
    try:
        if check_currency(currency.upper()) == BASE_CURRENCY:
            problems.append("HKD is the base currency and takes no rate")
    except UnknownCurrency as e:
        problems.append(str(e))
    try:
        date.fromisoformat(day)
        if len(day) != 10:
            raise ValueError
    except ValueError:
        problems.append(f"date {day!r} is not a date like 2026-11-30")
    try:
        _positive_rate(rate)
    except ValueError as e:
        problems.append(str(e))
    if not source:
        problems.append("the source is empty (say where the rate is from)")
    elif len(source) > 100:
        problems.append("the source is longer than 100 characters")
    return problems


class RateFeed(Protocol):
    """A daily rate feed (the HKMA's, a bank's): fetches the rates published for a day. The HTTP fetch is an
    adapter; the parsing of the payload (below) is pure so it is tested on recorded payloads."""

    def rates_for(self, day: date) -> list[FxRate]: ...

    def rates_between(self, first: date, last: date) -> list[FxRate]: ...


#: HKMA "er-eeri-daily" (Exchange rates, end of day) field -> (currency, units the quote is for)
HKMA_FIELDS: Mapping[str, tuple[str, int]] = {
    "usd": ("USD", 1), "gbp": ("GBP", 1), "jpy": ("JPY", 1), "cad": ("CAD", 1), "aud": ("AUD", 1),
    "sgd": ("SGD", 1), "twd": ("TWD", 1), "chf": ("CHF", 1), "cny": ("CNY", 1), "krw": ("KRW", 1),
    "thb": ("THB", 1), "myr": ("MYR", 1), "eur": ("EUR", 1), "php": ("PHP", 1), "inr": ("INR", 1),
    "idr": ("IDR", 1), "zar": ("ZAR", 1),
}
HKMA_SOURCE = "HKMA er-eeri-daily"


class FeedPayloadInvalid(ValueError):
    pass


def parse_hkma_daily(payload: Mapping, loaded_at: datetime, loaded_by: str = "hkma-feed") -> list[FxRate]:
    """Rates from an HKMA-style end-of-day payload: `{"header": {"success": true, ...}, "result": {"records":
    [{"end_of_day": "YYYY-MM-DD", "usd": 7.8, ...}]}}`. Numbers are read as Decimal text (parse the JSON with
    `parse_float=Decimal`); an unsuccessful header or a record without a date refuses the payload; a blank
    quote (a holiday for that currency) is skipped."""
    header = payload.get("header") or {}
    if header.get("success") is not True:
        raise FeedPayloadInvalid(f"the feed reported failure: {header.get('err_code')} {header.get('err_msg')}")
    records = (payload.get("result") or {}).get("records")
    if not isinstance(records, list):
        raise FeedPayloadInvalid("the feed payload has no result.records list")
    rates = []
    for record in records:
        try:
            day = date.fromisoformat(str(record["end_of_day"]))
        except (KeyError, ValueError):
            raise FeedPayloadInvalid(f"a record has no valid end_of_day: {record!r}"[:200]) from None
        for field, (currency, units) in HKMA_FIELDS.items():
            quote = record.get(field)
            if quote in (None, ""):
                continue
            if isinstance(quote, float):
                raise FeedPayloadInvalid("parse the feed with parse_float=Decimal: a float lost digits")
            rates.append(FxRate(currency=currency, rate_date=day, hkd_per_unit=Decimal(str(quote)) / units,
                                source=HKMA_SOURCE, loaded_by=loaded_by, loaded_at=loaded_at))
    return rates
