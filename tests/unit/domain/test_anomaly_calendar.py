"""When and how much: weekend or public-holiday spend where policy forbids it, receipts long before the claim,
suspiciously round amounts, and a 3 a.m. taxi on a working day in the city of a hotel bill."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from chalicelib.domain.expense import ExpenseKind
from chalicelib.domain.policy import Policy
from tests.unit.domain.anomaly_support import row, rules_fired

STRICT = Policy(forbid_weekend_holiday_spend=True)


def test_spend_on_a_weekend_or_a_public_holiday_fires_where_policy_forbids_it():
    (saturday,) = rules_fired([row("320.50", day=date(2025, 3, 8))], policy=STRICT)["weekend_holiday"]
    assert saturday.reason.startswith("weekend or holiday spend: HK$320.50 of meals on Saturday 8 March 2025 "
                                      "(a Saturday); policy allows no meals spend on weekends or public holidays / ")
    (new_year,) = rules_fired([row("320.50", day=date(2025, 1, 29))], policy=STRICT)["weekend_holiday"]
    assert "Wednesday 29 January 2025 (Chinese New Year)" in new_year.reason and "農曆年初一" in new_year.reason


def test_working_days_travel_and_companies_that_allow_it_stay_quiet():
    assert "weekend_holiday" not in rules_fired([row("320.50", day=date(2025, 3, 7))], policy=STRICT)
    assert "weekend_holiday" not in rules_fired([row("3200.50", category="travel", day=date(2025, 3, 8))],
                                                policy=STRICT)
    assert "weekend_holiday" not in rules_fired([row("320.50", day=date(2025, 3, 8))])


def test_a_receipt_dated_long_before_the_claim_fires_and_one_within_policy_does_not():
    submitted = datetime(2025, 6, 30, 2, tzinfo=UTC)
    (old,) = rules_fired([row(day=date(2025, 2, 3), submitted=submitted)])["stale_receipt"]
    assert old.reason.startswith("old receipt: dated 2025-02-03, 147 days before the claim was submitted on "
                                 "2025-06-30; policy allows 90 days / 逾期收據")
    assert "stale_receipt" not in rules_fired([row(day=date(2025, 4, 1), submitted=submitted)])


def test_suspiciously_round_amounts_fire_and_real_bills_do_not():
    (finding,) = rules_fired([row("3000.00", category="general")])["round_amount"]
    assert finding.reason.startswith("round amount: HK$3,000 is an exact multiple of HK$100, which a real bill")
    for quiet in (row("3000.50", category="general"), row("900.00", category="general"),
                  row("1600.00", category="general", kind=ExpenseKind.PER_DIEM.value),
                  row("92300", "JPY", category="general"),  # yen bills end in 00 anyway
                  row("2500.00", category="travel")):  # a fare
        assert "round_amount" not in rules_fired([quiet])
    assert "round_amount" in rules_fired([row("90000", "JPY", category="general")])


def _trip(city: str = "Tokyo") -> list:
    hotel = row("92355", "JPY", category="travel", vendor=f"Hyatt Hotel {city}", day=date(2025, 3, 7), city=city,
                claim="c-trip")
    flight = row("3582.79", category="travel", vendor="HK Express", day=date(2025, 2, 20), claim="c-trip")
    return [flight, hotel]


def test_a_taxi_at_3_am_on_a_working_day_in_the_city_of_the_hotel_fires():
    taxi = row("4734", "JPY", category="taxi", vendor="Uber", day=date(2025, 3, 5), receipt_time=time(2, 19),
               city="Tokyo", claim="c-trip")
    (finding,) = rules_fired([*_trip(), taxi])["night_taxi"]
    assert finding.reason.startswith("night taxi: HK$246.17 taxi at 02:19 on Wednesday 5 March 2025, a working day, "
                                     "in Tokyo, where a hotel bill (Hyatt Hotel Tokyo, 2025-03-07) was also claimed")
    alone = row("4734", "JPY", category="taxi", day=date(2025, 3, 5), receipt_time=time(2, 19), city="Tokyo")
    assert "night_taxi" in rules_fired([alone], _trip())  # the hotel claimed earlier


def test_an_early_airport_taxi_at_home_a_weekend_night_and_an_evening_ride_stay_quiet():
    home = row("317.50", category="taxi", vendor="Taxi", day=date(2025, 3, 5), receipt_time=time(4, 23))
    saturday = row("4734", "JPY", category="taxi", day=date(2025, 3, 1), receipt_time=time(2, 19), city="Tokyo")
    evening = row("4734", "JPY", category="taxi", day=date(2025, 3, 5), receipt_time=time(22, 40), city="Tokyo")
    for quiet in (home, saturday, evening):
        assert "night_taxi" not in rules_fired([*_trip(), quiet])
