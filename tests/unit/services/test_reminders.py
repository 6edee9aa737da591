"""The reminder ladder's use cases (services/reminders.py): when the SMS and the call are due in the approver's
own working hours and holidays, what they say, and the severe-weather pause and staggered resume."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.identity import Forbidden
from chalicelib.domain.money import Money
from chalicelib.services import reminders
from chalicelib.services.posting import mark_failed
from tests.fakes import bootstrap_fakes
from tests.unit.services.support import CST, awaiting_approval, hkt, principal


@pytest.fixture
def app():
    return bootstrap_fakes()


def _plan(app, link_id, **kw):
    p = reminders.plan(app.approvals, link_id, **kw)
    return p.paused, p.sms_in_seconds, p.voice_in_seconds


def _decide(app, link_id):
    """The step is decided: its link leaves pending (what a decision does to it)."""
    app.links.mark_used(app.links.get(link_id))


# --- plan -----------------------------------------------------------------------------------------------------


def test_in_working_hours_the_ladder_runs_at_its_policy_intervals(app):
    app.clock.at = hkt(2026, 11, 10, 10)  # Tuesday 10:00 HKT
    link = awaiting_approval(app)
    assert _plan(app, link) == (False, 30 * 60, 2 * 3600)


def test_a_saturday_claim_waits_for_monday_morning(app):
    app.clock.at = hkt(2026, 11, 14, 10)  # Saturday 10:00 HKT
    link = awaiting_approval(app)
    paused, sms_in, voice_in = _plan(app, link)
    assert not paused
    assert app.clock() + timedelta(seconds=sms_in) == hkt(2026, 11, 16, 9)
    assert voice_in == 2 * 3600  # Monday 11:00


def test_a_hong_kong_public_holiday_delays_a_hong_kong_approver_but_not_a_shenzhen_one(app):
    """1 July (HKSAR Establishment Day) is a holiday in Hong Kong only: E200 (Asia/Hong_Kong) is reminded on
    2 July at 09:00; E120 (Asia/Shanghai) on the ladder's normal 30 minutes."""
    app.clock.at = hkt(2026, 7, 1, 10)  # Wednesday; 10:00 in both zones
    hk_link = awaiting_approval(app, "c-hk", "E201")
    sz_link = awaiting_approval(app, "c-sz", "E121")
    assert app.links.get(hk_link).approver_id == "E200" and app.links.get(sz_link).approver_id == "E120"

    _, hk_sms, _ = _plan(app, hk_link)
    assert app.clock() + timedelta(seconds=hk_sms) == hkt(2026, 7, 2, 9)
    assert _plan(app, sz_link) == (False, 30 * 60, 2 * 3600)


def test_a_mainland_holiday_delays_only_the_shenzhen_approver(app):
    """Golden Week: 2 October is a holiday on the mainland but a working day in Hong Kong."""
    app.clock.at = datetime(2026, 10, 2, 10, tzinfo=CST)
    hk_link = awaiting_approval(app, "c-hk", "E201")
    sz_link = awaiting_approval(app, "c-sz", "E121")

    assert _plan(app, hk_link) == (False, 30 * 60, 2 * 3600)
    _, sz_sms, _ = _plan(app, sz_link)
    assert (app.clock() + timedelta(seconds=sz_sms)).astimezone(CST).date() > datetime(2026, 10, 7).date()


def test_a_claim_at_22_00_hkt_is_reminded_the_next_working_morning(app):
    app.clock.at = hkt(2026, 11, 10, 22)
    link = awaiting_approval(app)
    paused, sms_in, voice_in = _plan(app, link)
    assert (paused, sms_in, voice_in) == (False, 11 * 3600, 2 * 3600)
    assert app.clock() + timedelta(seconds=sms_in) == hkt(2026, 11, 11, 9)


def test_an_urgent_claim_is_reminded_at_once_whatever_the_hour(app):
    app.clock.at = hkt(2026, 11, 14, 22)  # Saturday night
    link = awaiting_approval(app, urgent=True)
    assert _plan(app, link) == (False, 30 * 60, 2 * 3600)


def test_a_staggered_resume_delays_the_ladder(app):
    link = awaiting_approval(app)
    assert _plan(app, link, delay_seconds=40) == (False, 30 * 60 + 40, 2 * 3600)


def test_a_decided_or_unknown_link_plans_nothing(app):
    link = awaiting_approval(app)
    _decide(app, link)
    for link_id in (link, "no-such-link"):
        plan = reminders.plan(app.approvals, link_id)
        assert plan.paused and plan.reason == "the step is no longer waiting"


def test_during_signal_8_reminders_pause_even_for_an_urgent_claim(app):
    link = awaiting_approval(app, urgent=True)
    reminders.set_weather(app.approvals, principal(app, "E900"), "T8")
    plan = reminders.plan(app.approvals, link)
    assert plan.paused and plan.reason == "reminders paused: T8 in force"


# --- send -----------------------------------------------------------------------------------------------------


def test_the_sms_carries_the_approval_link_and_the_amount_and_the_audit_masks_the_phone(app):
    link = awaiting_approval(app)
    (asked,) = app.notifier.approval_links("c-1")

    assert reminders.send(app.approvals, app.telephony, link, "sms") is True

    (sms,) = app.telephony.sms
    assert sms["to"] == "+85251230200"
    assert asked["link"] in sms["text"] and "HKD 90.00" in sms["text"] and "Tsui Wah" in sms["text"]
    record = app.audit.records("CLAIM#c-1")[-1]
    assert (record.action, record.actor_id) == ("reminder.sms_sent", "system")
    assert record.after == {"link_id": link, "to": "+852****00", "level": 1}
    assert "51230200" not in json.dumps(record.model_dump(mode="json"))
    assert app.telephony.calls == []


def test_the_call_states_the_amount_in_the_approvers_time_zone_and_is_audited(app):
    link = awaiting_approval(app, "c-sz", "E121", total=Money.of("1234.50", "CNY"))

    assert reminders.send(app.approvals, app.telephony, link, "voice") is True

    (call,) = app.telephony.calls
    assert (call["to"], call["timezone"]) == ("+8613900139000", "Asia/Shanghai")
    assert "CNY 1,234.50" in call["text"]
    record = app.audit.records("CLAIM#c-sz")[-1]
    assert record.action == "reminder.voice_sent" and record.after["to"] == "+861****00"
    assert app.telephony.sms == []


def test_nothing_is_sent_for_a_decided_link_and_the_ladder_stops(app):
    link = awaiting_approval(app)
    _decide(app, link)
    before = app.audit.actions("CLAIM#c-1")

    assert reminders.send(app.approvals, app.telephony, link, "sms") is False
    assert reminders.send(app.approvals, app.telephony, "no-such-link", "voice") is False
    assert app.telephony.sms == [] and app.telephony.calls == []
    assert app.audit.actions("CLAIM#c-1") == before


def test_nothing_is_sent_when_the_approver_has_no_phone(app):
    app.directory.put_employee(app.directory.employee("E200").model_copy(update={"phone": None}))
    link = awaiting_approval(app)

    assert reminders.send(app.approvals, app.telephony, link, "sms") is False
    assert app.telephony.sms == []
    assert not any(a.startswith("reminder.") for a in app.audit.actions("CLAIM#c-1"))


def test_no_reminder_is_sent_for_a_claim_that_failed_while_its_step_was_waiting(app):
    link = awaiting_approval(app)
    mark_failed("c-1", {"Error": "Lambda.Unknown", "Cause": "boom"}, app.claims)
    assert app.claims.get("c-1").status == ClaimStatus.FAILED

    assert reminders.plan(app.approvals, link).paused
    assert reminders.send(app.approvals, app.telephony, link, "sms") is False
    assert app.telephony.sms == []


# --- set_weather ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["E200", "E300", "E400", "E201"])
def test_only_an_admin_sets_the_weather_signal(app, who):
    with pytest.raises(Forbidden):
        reminders.set_weather(app.approvals, principal(app, who), "T8")
    assert app.directory.weather().signal == "none"
    assert app.audit.records("WEATHER#HK") == []


def test_raising_signal_8_is_audited_and_resumes_nothing(app):
    awaiting_approval(app)
    started = len(app.reminders.calls)
    admin = principal(app, "E900")

    assert reminders.set_weather(app.approvals, admin, "T8") == {"signal": "T8", "severe": True,
                                                                 "reminders_resumed": 0}

    (record,) = app.audit.records("WEATHER#HK")
    assert (record.action, record.actor_id, record.role, record.source_ip) == (
        "weather.set", "user-E900", "admin", "203.0.113.7")
    assert record.before["signal"] == "none" and record.after["signal"] == "T8"
    assert record.after["set_at"].startswith("2026-11-10T02:00")
    assert len(app.reminders.calls) == started


def test_lowering_signal_8_to_3_resumes_every_pending_link_staggered(app):
    """T8 then T3: each pending link's ladder is stopped and started again, 20 s apart in link-id order, under a
    new execution name; a decided link is left alone."""
    links = sorted([awaiting_approval(app, "c-1", "E201"), awaiting_approval(app, "c-2", "E121"),
                    awaiting_approval(app, "c-3", "E202")])
    decided = awaiting_approval(app, "c-4", "E300")
    _decide(app, decided)
    admin = principal(app, "E900")
    reminders.set_weather(app.approvals, admin, "T8")
    app.clock.advance(hours=6)
    app.reminders.calls.clear()

    result = reminders.set_weather(app.approvals, admin, "T3")

    assert result == {"signal": "T3", "severe": False, "reminders_resumed": 3}
    attempt = int(app.clock().timestamp())
    expected = []
    for i, link_id in enumerate(links):
        expected += [("stop", f"remind-{link_id}"),
                     ("start", f"remind-{link_id}-r{attempt}", {"link_id": link_id, "delay_seconds": 20 * i})]
    assert app.reminders.calls == expected
    assert [app.links.get(link_id).reminder_execution for link_id in links] == [
        f"remind-{link_id}-r{attempt}" for link_id in links]
    assert app.links.get(decided).reminder_execution == f"remind-{decided}"
    assert [(r.before["signal"], r.after["signal"]) for r in app.audit.records("WEATHER#HK")] == [
        ("none", "T8"), ("T8", "T3")]


@pytest.mark.parametrize(("first", "then"), [("T3", "T1"), ("T8", "T10"), ("none", "amber_rainstorm")])
def test_only_lowering_a_severe_signal_resumes_reminders(app, first, then):
    awaiting_approval(app)
    admin = principal(app, "E900")
    reminders.set_weather(app.approvals, admin, first)
    app.reminders.calls.clear()

    assert reminders.set_weather(app.approvals, admin, then)["reminders_resumed"] == 0
    assert app.reminders.calls == []


def test_black_rainstorm_lowered_resumes_reminders(app):
    link = awaiting_approval(app)
    admin = principal(app, "E900")
    reminders.set_weather(app.approvals, admin, "black_rainstorm")
    assert reminders.plan(app.approvals, link).paused

    assert reminders.set_weather(app.approvals, admin, "red_rainstorm")["reminders_resumed"] == 1
    assert _plan(app, link) == (False, 30 * 60, 2 * 3600)
