from datetime import UTC, date, datetime, timedelta

import holidays

from chalicelib.domain.schedule import ReminderPolicy, WeatherAlert, next_working_moment, plan_reminders

HK = holidays.country_holidays("HK", years=range(2025, 2028))
CN = holidays.country_holidays("CN", years=range(2025, 2028))


def is_holiday(day: date, tz: str) -> bool:
    return day in (CN if tz == "Asia/Shanghai" else HK)


POLICY = ReminderPolicy(sms_after_seconds=1800, voice_after_seconds=7200)
CALM = WeatherAlert()


def hkt(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh - 8, mm, tzinfo=UTC) if hh >= 8 else datetime(y, m, d - 1, hh + 16, mm, tzinfo=UTC)


def test_in_working_hours_reminders_follow_the_ladder():
    plan = plan_reminders(hkt(2026, 11, 25, 10), "Asia/Hong_Kong", POLICY, CALM, is_holiday)
    assert (plan.paused, plan.sms_in_seconds, plan.voice_in_seconds) == (False, 1800, 7200)


def test_evening_claim_waits_for_the_next_working_morning():
    now = hkt(2026, 11, 25, 18, 45)  # Wednesday 18:45 HKT: SMS would be 19:15
    plan = plan_reminders(now, "Asia/Hong_Kong", POLICY, CALM, is_holiday)
    assert now + timedelta(seconds=plan.sms_in_seconds) == hkt(2026, 11, 26, 9)


def test_weekends_and_public_holidays_are_skipped():
    friday_evening = hkt(2026, 12, 24, 18, 50)  # Christmas Eve (Thu): next is Christmas, Boxing Day, weekend
    sms_at = next_working_moment(friday_evening + timedelta(minutes=30), "Asia/Hong_Kong", POLICY, is_holiday)
    assert sms_at == hkt(2026, 12, 28, 9)  # Monday
    # 1 October is a holiday in both places; Shenzhen approvers follow mainland holidays (Golden Week)
    oct1 = datetime(2026, 10, 1, 2, tzinfo=UTC)
    assert next_working_moment(oct1, "Asia/Shanghai", POLICY, is_holiday).date() > date(2026, 10, 7)


def test_urgent_claims_override_quiet_hours():
    now = hkt(2026, 11, 25, 22)
    plan = plan_reminders(now, "Asia/Hong_Kong", POLICY, CALM, is_holiday, urgent=True)
    assert (plan.sms_in_seconds, plan.voice_in_seconds) == (1800, 7200)


def test_typhoon_signal_8_pauses_reminders():
    plan = plan_reminders(hkt(2026, 11, 25, 10), "Asia/Hong_Kong", POLICY, WeatherAlert(signal="T8"), is_holiday)
    assert plan.paused and "T8" in plan.reason
    assert plan_reminders(hkt(2026, 11, 25, 10), "Asia/Hong_Kong", POLICY, WeatherAlert(signal="black_rainstorm"),
                          is_holiday, urgent=True).paused
    assert not plan_reminders(hkt(2026, 11, 25, 10), "Asia/Hong_Kong", POLICY, WeatherAlert(signal="T3"),
                              is_holiday).paused


def test_resume_is_staggered():
    now = hkt(2026, 11, 25, 10)
    plans = [plan_reminders(now, "Asia/Hong_Kong", POLICY, CALM, is_holiday, delay_seconds=i * 20) for i in range(3)]
    assert [p.sms_in_seconds for p in plans] == [1800, 1820, 1840]
