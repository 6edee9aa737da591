"""Reminder ladder on the real reminders state machine: push at once, SMS, then a voice call; decided steps
stop their reminders at once; Typhoon Signal No. 8 pauses them and lowering it resumes them."""

from __future__ import annotations

import time

import boto3

from chalicelib import bootstrap
from chalicelib.domain.schedule import ReminderPolicy
from harness import lambda_shim
from harness.driver import wait_for
from tests.e2e.test_approval_flow import submitted


def fast_reminders(sms: int, voice: int) -> None:
    c = bootstrap.container()
    c.directory.put_policy(c.directory.policy().model_copy(update={"reminders": ReminderPolicy(
        sms_after_seconds=sms, voice_after_seconds=voice, resume_stagger_seconds=2)}))


def reminder_executions(stack) -> dict[str, str]:
    sfn = boto3.client("stepfunctions", region_name="ap-east-1")
    found = sfn.list_executions(stateMachineArn=stack.arns["state_machine:reminders"])["executions"]
    return {e["name"]: e["status"] for e in found}


def test_unanswered_approver_gets_sms_then_a_call(driver, stack):
    fast_reminders(sms=1, voice=1)
    claim_id = submitted(driver, urgent=True)  # urgent: not held back to working hours
    assert driver.approval_message(claim_id, level=1)["approver_id"] == "E200"
    calls: list[dict] = []
    wait_for(lambda: calls.extend(stack.telephony_messages()) or len(calls) >= 2, seconds=20)
    assert [m["channel"] for m in calls] == ["sms", "voice"]
    assert calls[0]["to"] == "+85251230200" and "/approvals/" in calls[0]["text"] and "HKD 90.00" in calls[0]["text"]
    assert "waiting for your approval" in calls[1]["text"]

    def recorded():  # the reminder Lambda audits each call just after the provider took it
        actions = [r.action for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}")]
        return "reminder.voice_sent" in actions and actions

    actions = wait_for(recorded, seconds=10)
    assert actions.count("reminder.sms_sent") == 1 and actions.count("reminder.voice_sent") == 1
    sms = next(r for r in bootstrap.container().audit.records(f"CLAIM#{claim_id}") if r.action == "reminder.sms_sent")
    assert sms.after["to"] == "+852****00"  # the number is masked in the audit trail


def test_deciding_stops_pending_reminders_at_once(driver, stack):
    fast_reminders(sms=6, voice=1)  # long enough for the decision to come first even on a loaded CI machine
    seen = len(lambda_shim.INVOCATIONS)
    claim_id = submitted(driver, urgent=True)
    message = driver.approval_message(claim_id, level=1)
    assert driver.decide(message["link"], "approve")[0] == 200
    driver.wait_status("E201", claim_id, {"posted"})
    time.sleep(7)  # past the moment the SMS would have gone
    assert stack.telephony_messages() == []
    # Stopped at once (ABORTED). moto's parser sometimes records a stop that lands while a task is in flight
    # as FAILED; either way no reminder Lambda failed and nobody was called after the decision.
    assert len(reminder_executions(stack)) == 1
    assert set(reminder_executions(stack).values()) <= {"ABORTED", "SUCCEEDED", "FAILED"}
    ran = lambda_shim.INVOCATIONS[seen:]
    assert not [i for i in ran if "reminder" in i["function"] and not i["ok"]]
    assert not [i for i in ran if i["function"].endswith("send_reminder")]


def test_severe_weather_pauses_reminders_and_lowering_resumes_them_staggered(driver, stack):
    fast_reminders(sms=1, voice=3600)
    assert driver.call("PUT", "/admin/weather", {"signal": "T8"}, driver.auth("E201"))[0] == 403
    status, body = driver.call("PUT", "/admin/weather", {"signal": "T8"}, driver.auth("E900"))
    assert status == 200 and body["severe"]
    first, second = submitted(driver), submitted(driver, vendor="Another Café")
    for claim_id in (first, second):
        driver.approval_message(claim_id, level=1)
    assert lambda_shim.drain(10)
    time.sleep(2)
    assert stack.telephony_messages() == []  # paused: nobody is called during a No. 8 signal
    status, body = driver.call("PUT", "/admin/weather", {"signal": "T3"}, driver.auth("E900"))
    assert status == 200 and body["reminders_resumed"] == 2
    sms: list[dict] = []
    wait_for(lambda: sms.extend(stack.telephony_messages()) or len(sms) >= 2, seconds=60)
    assert [m["channel"] for m in sms] == ["sms", "sms"]
