"""When to remind an approver: their time zone, working hours, public holidays, and severe weather.

Reminders escalate push (at once) -> SMS -> voice. A reminder due outside the approver's working hours, on a
weekend or a public holiday waits for the next working morning, unless the claim is urgent. While Typhoon
Signal No. 8 or above or a Black Rainstorm warning is in force, reminders pause; when it is lowered they resume,
staggered so that a whole office is not called in the same minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

SEVERE_SIGNALS = frozenset({"T8", "T9", "T10", "black_rainstorm"})


class WeatherAlert(BaseModel):
    """The Hong Kong Observatory signal in force, as set by an admin (or a feed adapter)."""

    signal: str = "none"  # none | T1 | T3 | T8 | T9 | T10 | amber_rainstorm | red_rainstorm | black_rainstorm
    set_at: datetime | None = None

    @property
    def severe(self) -> bool:
        return self.signal in SEVERE_SIGNALS


class ReminderPolicy(BaseModel):
    sms_after_seconds: int = 30 * 60
    voice_after_seconds: int = 2 * 3600
    workday_start: time = time(9, 0)
    workday_end: time = time(19, 0)
    resume_stagger_seconds: int = 20


class ReminderPlan(BaseModel):
    paused: bool
    sms_in_seconds: int = 0
    voice_in_seconds: int = 0  # after the SMS
    reason: str = ""


def next_working_moment(
    at: datetime, tz: str, policy: ReminderPolicy, is_holiday: Callable[[date, str], bool]
) -> datetime:
    """`at` itself when it falls in working hours, else the start of the next working day (aware, UTC)."""
    local = at.astimezone(ZoneInfo(tz))
    for _ in range(30):  # a month of holidays in a row does not happen; stop anyway
        working_day = local.weekday() < 5 and not is_holiday(local.date(), tz)
        if working_day and policy.workday_start <= local.time() < policy.workday_end:
            return local.astimezone(at.tzinfo)
        if working_day and local.time() < policy.workday_start:
            local = local.replace(hour=policy.workday_start.hour, minute=policy.workday_start.minute, second=0,
                                  microsecond=0)
            continue
        local = (local + timedelta(days=1)).replace(hour=policy.workday_start.hour,
                                                    minute=policy.workday_start.minute, second=0, microsecond=0)
    return local.astimezone(at.tzinfo)


def plan_reminders(
    now: datetime,
    tz: str,
    policy: ReminderPolicy,
    weather: WeatherAlert,
    is_holiday: Callable[[date, str], bool],
    urgent: bool = False,
    delay_seconds: int = 0,
) -> ReminderPlan:
    if weather.severe:  # urgent or not: nobody is chased for an expense claim during a No. 8 signal
        return ReminderPlan(paused=True, reason=f"reminders paused: {weather.signal} in force")
    start = now + timedelta(seconds=delay_seconds)
    sms_at = start + timedelta(seconds=policy.sms_after_seconds)
    if not urgent:
        sms_at = next_working_moment(sms_at, tz, policy, is_holiday)
    voice_at = sms_at + timedelta(seconds=policy.voice_after_seconds)
    if not urgent:
        voice_at = next_working_moment(voice_at, tz, policy, is_holiday)
    return ReminderPlan(
        paused=False,
        sms_in_seconds=max(0, int((sms_at - now).total_seconds())),
        voice_in_seconds=max(0, int((voice_at - sms_at).total_seconds())),
    )
