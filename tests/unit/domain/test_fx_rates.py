"""Dated rates, the company's rule, the CSV upload, the recorded feed, and rounding that adds up."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.domain.fx_rates import (
    HKMA_SOURCE,
    AppliedRate,
    FeedPayloadInvalid,
    FxRate,
    PaymentDateMissing,
    RateBook,
    RateNotFound,
    RateRule,
    RateUploadRejected,
    StaleRate,
    TooManyDecimals,
    convert,
    parse_hkma_daily,
    parse_rates_csv,
    round_hkd,
    to_hkd,
)
from chalicelib.domain.money import Money

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fx"
LOADED = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def rate(currency: str, day: str, value: str, *, source: str = "finance upload",
         loaded_at: datetime = LOADED) -> FxRate:
    return FxRate(currency=currency, rate_date=date.fromisoformat(day), hkd_per_unit=value, source=source,
                  loaded_by="u-fin-1", loaded_at=loaded_at)


@pytest.fixture
def book() -> RateBook:
    return RateBook([rate("USD", "2026-11-02", "7.7800"), rate("USD", "2026-11-13", "7.7900"),
                     rate("USD", "2026-10-31", "7.7700"), rate("JPY", "2026-11-13", "0.0503")], max_age_days=7)


# --- the rate itself ------------------------------------------------------------------------------------------
def test_a_rate_keeps_its_date_source_loader_and_utc_load_time():
    hkt = timezone(timedelta(hours=8))
    r = rate("usd", "2026-11-13", "7.79", loaded_at=datetime(2026, 11, 13, 9, 0, tzinfo=hkt))
    assert (r.currency, r.hkd_per_unit, r.source, r.loaded_by) == ("USD", Decimal("7.79"), "finance upload", "u-fin-1")
    assert r.loaded_at == datetime(2026, 11, 13, 1, 0, tzinfo=UTC) and r.loaded_at.tzinfo == UTC


@pytest.mark.parametrize("value", ["0", "-7.8", "abc", "NaN", "Infinity", 7.8])
def test_a_rate_must_be_a_positive_decimal(value):
    with pytest.raises(ValidationError):
        rate("USD", "2026-11-13", value)


@pytest.mark.parametrize("currency", ["ZZZ", "HKD", "XAU"])
def test_a_rate_is_for_a_real_foreign_currency(currency):
    with pytest.raises(ValidationError):
        rate(currency, "2026-11-13", "1")


def test_a_naive_load_time_is_refused():
    with pytest.raises(ValidationError):
        FxRate(currency="USD", rate_date=date(2026, 11, 13), hkd_per_unit="7.8", source="s", loaded_by="u",
               loaded_at=datetime(2026, 11, 13, 9, 0))


# --- which rate applies -----------------------------------------------------------------------------------------
def test_receipt_date_rule_takes_the_latest_rate_on_or_before_the_receipt(book):
    applied = book.rate_for("USD", date(2026, 11, 15))
    assert (applied.hkd_per_unit, applied.rate_date, applied.source) == (Decimal("7.79"), date(2026, 11, 13),
                                                                         "finance upload")
    assert applied.rule == RateRule.RECEIPT_DATE and applied.wanted_date == date(2026, 11, 15)
    assert book.rate_for("USD", date(2026, 11, 13)).hkd_per_unit == Decimal("7.79")
    assert book.rate_for("USD", date(2026, 11, 8)).hkd_per_unit == Decimal("7.78")


def test_a_rate_older_than_the_window_is_stale_not_used(book):
    with pytest.raises(StaleRate, match=r"2026-11-13, 8 days before 2026-11-21.*older than 7 days"):
        book.rate_for("USD", date(2026, 11, 21))
    assert book.rate_for("USD", date(2026, 11, 20)).rate_date == date(2026, 11, 13)  # 7 days: still fresh


def test_no_rate_before_the_date_is_a_clear_error(book):
    with pytest.raises(RateNotFound, match="no USD rate on or before 2026-10-30"):
        book.rate_for("USD", date(2026, 10, 30))
    with pytest.raises(RateNotFound, match="no EUR rate"):
        book.rate_for("EUR", date(2026, 11, 15))


def test_month_start_rule_takes_the_rate_of_the_first_or_the_latest_before_it(book):
    applied = book.rate_for("USD", date(2026, 11, 28), RateRule.MONTH_START)
    # 1 November 2026 is a Sunday: the Saturday 31 October rate is the month-start rate
    assert (applied.hkd_per_unit, applied.rate_date, applied.wanted_date) == (Decimal("7.77"), date(2026, 10, 31),
                                                                              date(2026, 11, 1))


def test_payment_date_rule_needs_the_payment_date(book):
    applied = book.rate_for("USD", date(2026, 11, 3), RateRule.PAYMENT_DATE, payment_date=date(2026, 11, 14))
    assert applied.hkd_per_unit == Decimal("7.79") and applied.wanted_date == date(2026, 11, 14)
    with pytest.raises(PaymentDateMissing):
        book.rate_for("USD", date(2026, 11, 3), RateRule.PAYMENT_DATE)


def test_hkd_needs_no_rate(book):
    applied = book.rate_for("HKD", date(2020, 1, 1))
    assert applied.hkd_per_unit == 1 and applied.source == "base currency"


def test_a_later_load_for_the_same_day_corrects_the_rate_and_both_stay_in_history(book):
    book.add([rate("USD", "2026-11-13", "7.7950", source="correction", loaded_at=LOADED + timedelta(hours=1))])
    book.add([rate("USD", "2026-11-13", "7.0000", source="older", loaded_at=LOADED - timedelta(hours=1))])
    applied = book.rate_for("USD", date(2026, 11, 14))
    assert (applied.hkd_per_unit, applied.source) == (Decimal("7.795"), "correction")
    assert len([r for r in book.history if r.rate_date == date(2026, 11, 13) and r.currency == "USD"]) == 3


# --- conversion and rounding ------------------------------------------------------------------------------------
def applied(currency: str, value: str) -> AppliedRate:
    return AppliedRate(currency=currency, hkd_per_unit=Decimal(value), rate_date=date(2026, 11, 13),
                       source="finance upload", rule=RateRule.RECEIPT_DATE, wanted_date=date(2026, 11, 13))


def test_conversion_rounds_half_up_to_hkd_cents():
    assert to_hkd(Money.of("1.00", "USD"), applied("USD", "7.785")).amount == Decimal("7.79")  # 7.785 -> 7.79
    assert to_hkd(Money.of("1.00", "USD"), applied("USD", "7.7849")).amount == Decimal("7.78")
    assert round_hkd(Decimal("-0.005")).amount == Decimal("-0.01")
    assert to_hkd(Money.of("1234", "JPY"), applied("JPY", "0.05021")).amount == Decimal("61.96")  # 61.95914
    assert to_hkd(Money.of("1.234", "KWD"), applied("KWD", "25.4")).amount == Decimal("31.34")  # 31.3436


@pytest.mark.parametrize(("amount", "currency"), [("100.5", "JPY"), ("1.005", "USD"), ("1.2345", "KWD")])
def test_amounts_finer_than_their_currency_are_refused_not_rounded(amount, currency):
    with pytest.raises(TooManyDecimals, match=f"{currency} {amount} has more decimals"):
        to_hkd(Money.of(amount, currency), applied(currency, "1"))


def test_a_rate_for_another_currency_cannot_convert():
    with pytest.raises(ValueError, match="a USD rate cannot convert EUR"):
        to_hkd(Money.of("1", "EUR"), applied("USD", "7.8"))


def test_the_rounding_line_makes_the_lines_add_up_to_the_total_converted_once():
    usd = applied("USD", "7.8155")
    items = [(f"e-{i}", Money.of("0.10", "USD"), usd) for i in range(3)]
    items.append(("e-hkd", Money.of("12.30", "HKD"), AppliedRate.base(date(2026, 11, 13))))
    result = convert(items)
    assert [line.hkd.amount for line in result.lines] == [Decimal("0.78")] * 3 + [Decimal("12.30")]
    assert result.total.amount == Decimal("14.64")  # USD 0.30 * 7.8155 = 2.34465 -> 2.34, + 12.30
    assert result.rounding.amount == result.total.amount - result.lines_total.amount
    assert result.lines_total.amount + result.rounding.amount == result.total.amount


def test_the_rounding_line_is_not_zero_when_per_line_rounding_drifts():
    usd = applied("USD", "7.8155")
    result = convert([(f"e-{i}", Money.of("0.11", "USD"), usd) for i in range(3)])
    # each 0.11 * 7.8155 = 0.859705 -> 0.86 (three: 2.58); 0.33 * 7.8155 = 2.579115 -> 2.58
    assert result.rounding.amount == Decimal("0.00")
    drift = convert([(f"e-{i}", Money.of("0.13", "USD"), usd) for i in range(3)])
    # each 0.13 * 7.8155 = 1.016015 -> 1.02 (three: 3.06); 0.39 * 7.8155 = 3.048045 -> 3.05
    assert [line.hkd.amount for line in drift.lines] == [Decimal("1.02")] * 3
    assert (drift.total.amount, drift.rounding.amount) == (Decimal("3.05"), Decimal("-0.01"))


def test_expenses_of_one_currency_at_different_rates_are_totalled_per_rate():
    result = convert([("a", Money.of("10.00", "USD"), applied("USD", "7.80")),
                      ("b", Money.of("10.00", "USD"), applied("USD", "7.90"))])
    assert (result.total.amount, result.rounding.amount) == (Decimal("157.00"), Decimal("0.00"))


# --- the CSV upload ------------------------------------------------------------------------------------------------
def test_a_good_upload_loads_every_row_with_who_and_when():
    rates = parse_rates_csv("currency,date,rate,source\nUSD,2026-11-13,7.79,HSBC board rate\n"
                            "jpy,2026-11-13,0.0503,HSBC board rate\n\n", "u-fin-1", LOADED)
    assert [(r.currency, r.hkd_per_unit, r.source, r.loaded_by, r.loaded_at) for r in rates] == [
        ("USD", Decimal("7.79"), "HSBC board rate", "u-fin-1", LOADED),
        ("JPY", Decimal("0.0503"), "HSBC board rate", "u-fin-1", LOADED)]


def test_a_bad_upload_lists_every_bad_row_and_loads_nothing():
    text = ("\ufeffcurrency,date,rate,source\n"
            "USD,2026-11-13,7.79,HSBC\n"  # good, but not loaded: all or nothing
            "ZZZ,2026-11-13,1.0,HSBC\n"
            "EUR,2026-11-13,-8.9,HSBC\n"
            "GBP,2026-11-13,0,HSBC\n"
            "CNY,13/11/2026,1.09,HSBC\n"
            "SGD,2026-11-13,5.99,\n"
            "USD,2026-11-13,7.80,HSBC\n"
            "AUD,2026-11-13\n")
    with pytest.raises(RateUploadRejected) as refused:
        parse_rates_csv(text, "u-fin-1", LOADED)
    errors = {e.line: e.message for e in refused.value.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9]
    assert "'ZZZ' is not an ISO 4217 currency code" in errors[3]
    assert "must be a positive number" in errors[4] and "must be a positive number" in errors[5]
    assert "'13/11/2026' is not a date" in errors[6]
    assert "source is empty" in errors[7]
    assert "USD 2026-11-13 is also on line 2" in errors[8]
    assert "expected 4 columns, found 2" in errors[9]
    assert "7 row(s) refused, nothing loaded" in str(refused.value)


@pytest.mark.parametrize("text", ["", "code,day,value,source\nUSD,2026-11-13,7.8,x\n", "currency,date,rate,source\n"])
def test_an_upload_without_the_header_or_rows_is_refused(text):
    with pytest.raises(RateUploadRejected):
        parse_rates_csv(text, "u-fin-1", LOADED)


# --- the daily feed, on a recorded payload ----------------------------------------------------------------------
def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def test_the_hkma_daily_payload_becomes_dated_rates_with_the_feed_as_source():
    rates = parse_hkma_daily(load_fixture("hkma_er_eeri_daily.json"), LOADED)
    book = RateBook(rates)
    usd = book.rate_for("USD", date(2026, 11, 29))
    assert (usd.hkd_per_unit, usd.rate_date, usd.source) == (Decimal("7.7812"), date(2026, 11, 27), HKMA_SOURCE)
    assert book.rate_for("JPY", date(2026, 11, 30)).hkd_per_unit == Decimal("0.05034")
    assert book.rate_for("IDR", date(2026, 11, 30)).rate_date == date(2026, 11, 27)  # null on the 30th: skipped
    assert all(r.loaded_by == "hkma-feed" and r.loaded_at == LOADED for r in rates)
    assert len(rates) == 17 + 16


def test_a_failed_or_float_parsed_feed_payload_is_refused():
    with pytest.raises(FeedPayloadInvalid, match="reported failure"):
        parse_hkma_daily({"header": {"success": False, "err_code": "1001", "err_msg": "x"}}, LOADED)
    floats = json.loads((FIXTURES / "hkma_er_eeri_daily.json").read_text())
    with pytest.raises(FeedPayloadInvalid, match="parse_float=Decimal"):
        parse_hkma_daily(floats, LOADED)
    with pytest.raises(FeedPayloadInvalid, match="end_of_day"):
        parse_hkma_daily({"header": {"success": True}, "result": {"records": [{"usd": Decimal("7.8")}]}}, LOADED)
