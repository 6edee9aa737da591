"""Use cases of the reminder ladder: plan an approval link's SMS and call, send them, pause for severe
weather and resume (staggered) when it is lowered. Timing lives in the reminders state machine (Wait
states), so nothing polls; a decided or replaced link stops its reminders execution."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays

from chalicelib.domain.access import require_admin
from chalicelib.domain.approval_link import StoredLink
from chalicelib.domain.claim import Claim
from chalicelib.domain.identity import SYSTEM, Principal
from chalicelib.domain.masking import mask_phone
from chalicelib.domain.schedule import ReminderPlan, WeatherAlert, plan_reminders
from chalicelib.services.approvals.context import (
    ApprovalContext,
    link_url,
    open_steps,
    start_reminders,
    stop_reminders,
)
from chalicelib.services.ports import Telephony

_COUNTRY = {"Asia/Hong_Kong": "HK", "Asia/Shanghai": "CN", "Asia/Macau": "MO"}


@cache
def _calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def is_public_holiday(day: date, tz: str) -> bool:
    return day in _calendar(_COUNTRY.get(tz, "HK"))


def _waiting(ctx: ApprovalContext, link_id: str) -> tuple[StoredLink, Claim] | None:
    """The link and its claim while the claim still waits on that very link: a decided, replaced or failed
    step (a claim that failed keeps its last link pending) reminds nobody."""
    link = ctx.links.get(link_id)
    found = open_steps(ctx, [link]) if link is not None and link.state == "pending" else []
    return found[0] if found else None


def plan(ctx: ApprovalContext, link_id: str, delay_seconds: int = 0) -> ReminderPlan:
    waiting = _waiting(ctx, link_id)
    if waiting is None:
        return ReminderPlan(paused=True, reason="the step is no longer waiting")
    item, claim = waiting
    person = ctx.directory.employee(item.approver_id)
    policy = ctx.directory.policy()
    return plan_reminders(
        ctx.now(), person.timezone if person else "Asia/Hong_Kong", policy.reminders, ctx.directory.weather(),
        is_public_holiday, urgent=bool(claim and claim.urgent), delay_seconds=delay_seconds,
    )


def send(ctx: ApprovalContext, telephony: Telephony, link_id: str, channel: str) -> bool:
    """Send one reminder; returns False when the ladder should stop (decided, replaced, or no phone)."""
    waiting = _waiting(ctx, link_id)
    if waiting is None:
        return False
    item, claim = waiting
    person = ctx.directory.employee(item.approver_id)
    if claim is None or person is None or not person.phone:
        return False
    amount = claim.amounts_text()
    if channel == "sms":
        text = (f"[HK Expense] 待審批 Approval needed: {amount} {claim.headline} "
                f"{link_url(ctx, item)}")
        telephony.send_sms(person.phone, text)
    else:
        text = (f"This is HK Expense. An expense claim of {amount} is waiting for your approval. "
                "Please open the approval message on your phone. 你有一項報銷申請等待審批。")
        telephony.call(person.phone, text, person.timezone)
    ctx.audit.append(ctx.claims.entity(claim.claim_id), SYSTEM, f"reminder.{channel}_sent", None,
                     {"link_id": link_id, "to": mask_phone(person.phone), "level": item.level})
    return True


def set_weather(ctx: ApprovalContext, admin: Principal, signal: str) -> dict:
    """Admin switch (or a feed adapter) for the HKO signal; lowering a severe one resumes reminders."""
    require_admin(admin, "set the weather signal")
    before = ctx.directory.weather()
    after = WeatherAlert(signal=signal, set_at=ctx.now())
    ctx.directory.put_weather(after)
    ctx.audit.append("WEATHER#HK", admin, "weather.set", before.model_dump(mode="json"), after.model_dump(mode="json"))
    resumed = 0
    if before.severe and not after.severe:
        stagger = ctx.directory.policy().reminders.resume_stagger_seconds
        for i, (item, _) in enumerate(sorted(open_steps(ctx, ctx.links.pending()), key=lambda x: x[0].link_id)):
            stop_reminders(ctx, item, "restarting after severe weather")
            start_reminders(ctx, item, delay_seconds=i * stagger, attempt=int(after.set_at.timestamp()))
            resumed += 1
    return {"signal": after.signal, "severe": after.severe, "reminders_resumed": resumed}
